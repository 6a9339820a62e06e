//! How the service's errors become GraphQL errors: the message a client may see and the
//! stable `extensions.code` (with the failing `field` for bad input).

use crate::error::AppError;
use async_graphql::ErrorExtensions;

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let Self::BadInput { field, .. } = self {
                ext.set("field", field.as_str());
            }
        })
    }
}

//! A cap on open connections: a listener that accepts a connection only while fewer than the
//! cap are open, so that what each open connection holds (its HTTP buffers) is bounded as a
//! whole, whatever the number of clients. Connections beyond the cap wait in the system's
//! accept queue until one closes.

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use axum::serve::Listener;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A TCP listener with at most `cap` connections open at once.
pub struct Capped {
    inner: TcpListener,
    slots: Arc<Semaphore>,
}

impl Capped {
    /// `listener`, accepting at most `cap` open connections (at least one).
    pub fn new(listener: TcpListener, cap: usize) -> Self {
        Self {
            inner: listener,
            slots: Arc::new(Semaphore::new(cap.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }
}

/// An accepted connection, holding its slot until it closes (or gives it back).
pub struct CappedIo {
    io: TcpStream,
    slot: Slot,
}

/// A connection's place under the cap. A connection upgraded to a WebSocket gives it back:
/// what it holds from then on is bounded by the subscription caps instead.
#[derive(Clone, Debug, Default)]
pub struct Slot(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl Slot {
    /// Gives the place back: the connection no longer counts against the cap.
    pub fn release(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

/// What a handler knows of its connection: the peer's address, and its place under the cap.
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    pub slot: Slot,
}

impl Connected<IncomingStream<'_, Capped>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Capped>) -> Self {
        Self {
            addr: *stream.remote_addr(),
            slot: stream.io().slot.clone(),
        }
    }
}

impl Listener for Capped {
    type Io = CappedIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CappedIo, SocketAddr) {
        loop {
            // The semaphore is never closed; should it be, accept without a slot rather than
            // stop serving.
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                continue;
            };
            let (io, addr) = Listener::accept(&mut self.inner).await;
            let slot = Slot(Arc::new(Mutex::new(Some(slot))));
            return (CappedIo { io, slot }, addr);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for CappedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_beyond_the_cap_waits_until_one_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut capped = Capped::new(listener, 1);
        let _one = TcpStream::connect(addr).await.unwrap();
        let (first, _) = capped.accept().await;
        let _two = TcpStream::connect(addr).await.unwrap();
        let mut second = std::pin::pin!(capped.accept());
        // The slot is taken: the second connection is not accepted...
        assert!(futures_util::poll!(&mut second).is_pending());
        // ... until the first closes.
        drop(first);
        let (_io, peer) = second.await;
        assert!(peer.ip().is_loopback());
    }

    #[tokio::test]
    async fn a_connection_that_gives_its_place_back_lets_another_in_while_it_stays_open() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut capped = Capped::new(listener, 1);
        let _one = TcpStream::connect(addr).await.unwrap();
        let (first, _) = capped.accept().await;
        let _two = TcpStream::connect(addr).await.unwrap();
        let mut second = std::pin::pin!(capped.accept());
        assert!(futures_util::poll!(&mut second).is_pending());
        first.slot.release();
        let (_io, peer) = second.await;
        assert!(peer.ip().is_loopback());
        drop(first);
    }
}

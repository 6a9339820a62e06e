//! What the `live` and `metrics` benchmarks share: a release server process on a free port,
//! its readiness and resident memory, stopped (SIGTERM, then SIGKILL) when dropped.

use anyhow::{Context, Result, anyhow, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `persona-graph serve` process.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts `bin serve --seed <seed>` on a free port over `url`, with the rate limit off (one
    /// client address sends everything) and `envs`, logging to `log`.
    pub(crate) fn start(
        bin: &Path,
        url: &str,
        seed: &str,
        envs: &[(&str, &str)],
        log: &Path,
    ) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let out = fs::File::create(log)?;
        let child = Command::new(bin)
            .args(["serve", "--seed", seed, "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", url)
            .env("RATE_LIMIT_PER_SECOND", "0")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting the server")?;
        Ok(Self {
            child,
            port,
            log: log.to_owned(),
        })
    }

    /// Waits (a minute at most) until `/ready` answers 200.
    pub(crate) async fn wait_ready(&self, http: &reqwest::Client) -> Result<()> {
        let deadline = Instant::now() + Duration::from_mins(1);
        while Instant::now() < deadline {
            if let Ok(r) = http
                .get(format!("http://127.0.0.1:{}/ready", self.port))
                .send()
                .await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the server did not become ready; see {}",
            self.log.display()
        )
    }

    /// Resident memory, in KiB.
    #[allow(dead_code)] // Used by one of the benchmarks that include this module.
    pub(crate) fn rss_kib(&self) -> Result<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse().ok())
            .ok_or_else(|| anyhow!("no VmRSS in /proc/{}/status", self.child.id()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

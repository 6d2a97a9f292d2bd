use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use failover_core::app::ports::Clock;

/// Wall-clock time and tokio sleeps.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

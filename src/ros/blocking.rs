//! A subscription for synchronous code: a thread drives the async stream into a channel, so
//! a caller can wait with a timeout (the simulator bridges block on replies and states).

use std::sync::mpsc::{channel, Receiver};

use futures::StreamExt;

use super::{Qos, Transport};
use crate::error::{Error, Result};
use crate::msgs::RosMessage;

/// Messages on `topic`, received on a thread named `thread` until the receiver is dropped.
pub fn subscribe_blocking<T: Transport, M: RosMessage>(
    t: &T,
    topic: &str,
    qos: Qos,
    thread: &str,
) -> Result<Receiver<M>> {
    let mut stream = t.subscribe::<M>(topic, qos)?;
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name(thread.into())
        .spawn(move || {
            futures::executor::block_on(async move {
                while let Some(m) = stream.next().await {
                    if tx.send(m).is_err() {
                        break;
                    }
                }
            })
        })
        .map_err(|e| Error::io(format!("{thread} thread"), e))?;
    Ok(rx)
}

//! CDR payloads of bag messages into the package's message types: the 4-byte encapsulation
//! header is checked (bytes 2-3, options, are ignored as rosbag2 does), then serde decodes.

use byteorder::{BigEndian, LittleEndian};

use super::BagMessage;
use crate::error::{Error, Result};
use crate::msgs::RosMessage;

impl BagMessage {
    fn place(&self) -> String {
        format!(
            "{}: topic {}, message {}",
            self.file.display(),
            self.topic,
            self.index
        )
    }

    /// Decodes the message as `M`, checking that the bag's type name is `M`'s.
    pub fn decode<M: RosMessage>(&self) -> Result<M> {
        if self.msg_type != M::ros_type() {
            return Err(Error::invalid(
                self.place(),
                format!("type {}, expected {}", self.msg_type, M::ros_type()),
            ));
        }
        let d = &self.data;
        if d.len() < 4 || d[0] != 0 || d[1] > 1 {
            return Err(Error::invalid(
                self.place(),
                format!(
                    "bad CDR encapsulation header {:02x?} at offset 0",
                    &d[..d.len().min(4)]
                ),
            ));
        }
        let body = &d[4..];
        let decoded = if d[1] == 1 {
            cdr_encoding::from_bytes::<M, LittleEndian>(body)
        } else {
            cdr_encoding::from_bytes::<M, BigEndian>(body)
        };
        decoded.map(|(m, _)| m).map_err(|e| {
            Error::invalid(
                self.place(),
                format!("CDR does not decode as {}: {e}", M::ros_type()),
            )
        })
    }
}

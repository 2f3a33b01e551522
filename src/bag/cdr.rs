//! CDR payloads of bag messages into the package's message types: the 4-byte encapsulation
//! header is checked (bytes 2-3, options, are ignored as rosbag2 does), then serde decodes.

use byteorder::{BigEndian, LittleEndian};

use super::BagMessage;
use crate::error::{Error, Result};
use crate::msgs::RosMessage;

/// Decodes a CDR payload (encapsulation header included) as `T`, which may borrow from it;
/// `place` names where the bytes came from, for errors.
pub fn decode_cdr<'de, T: serde::Deserialize<'de>>(
    data: &'de [u8],
    type_name: &str,
    place: impl Fn() -> String,
) -> Result<T> {
    let d = data;
    if d.len() < 4 || d[0] != 0 || d[1] > 1 {
        return Err(Error::invalid(
            place(),
            format!(
                "bad CDR encapsulation header {:02x?} at offset 0",
                &d[..d.len().min(4)]
            ),
        ));
    }
    let body = &d[4..];
    let decoded = if d[1] == 1 {
        cdr_encoding::from_bytes::<T, LittleEndian>(body)
    } else {
        cdr_encoding::from_bytes::<T, BigEndian>(body)
    };
    decoded
        .map(|(m, _)| m)
        .map_err(|e| Error::invalid(place(), format!("CDR does not decode as {type_name}: {e}")))
}

impl super::mcap_walk::MessageRef<'_> {
    /// Decodes as `T` (which may borrow, e.g. `ImageRef`), checking the bag's type name.
    pub fn decode_as<'de, T: serde::Deserialize<'de>>(&'de self, ros_type: &str) -> Result<T> {
        let place = || format!("topic {}, message {}", self.topic, self.index);
        if self.msg_type != ros_type {
            return Err(Error::invalid(
                place(),
                format!("type {}, expected {ros_type}", self.msg_type),
            ));
        }
        decode_cdr(self.data, ros_type, place)
    }
}

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
        decode_cdr(&self.data, &M::ros_type(), || self.place())
    }
}

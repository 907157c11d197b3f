//! `StreamWriter` (`Lib/asyncio/streams.py`): writes go straight to the transport; `drain`
//! is the flow control.

use std::rc::Rc;

use super::reader::StreamReader;
use super::StreamReaderProtocol;
use crate::futures::Error;
use crate::sleep::sleep;
use crate::transports::{Transport, WriteError};

/// `asyncio.StreamWriter`. Cloning gives another reference to the same writer.
#[derive(Clone)]
pub struct StreamWriter {
    transport: Transport,
    protocol: Rc<StreamReaderProtocol>,
    reader: Option<StreamReader>,
}

impl StreamWriter {
    pub(crate) fn new(
        transport: Transport,
        protocol: Rc<StreamReaderProtocol>,
        reader: Option<StreamReader>,
    ) -> Self {
        StreamWriter {
            transport,
            protocol,
            reader,
        }
    }

    /// The transport (`writer.transport`).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `write(data)`: buffered in the transport; call [`drain`](Self::drain) to wait for room.
    pub fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        self.transport.write(data)
    }

    /// `writelines(data)`.
    pub fn writelines<'a>(
        &self,
        data: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), WriteError> {
        data.into_iter()
            .try_for_each(|chunk| self.transport.write(chunk))
    }

    /// `write_eof()`.
    pub fn write_eof(&self) {
        self.transport.write_eof();
    }

    /// `can_write_eof()`.
    pub fn can_write_eof(&self) -> bool {
        self.transport.can_write_eof()
    }

    /// `close()`.
    pub fn close(&self) {
        self.transport.close();
    }

    /// `is_closing()`.
    pub fn is_closing(&self) -> bool {
        self.transport.is_closing()
    }

    /// `get_extra_info(name)`: `"peername"` or `"sockname"` of a TCP socket (see
    /// [`Transport::get_extra_info`]).
    pub fn get_extra_info(&self, name: &str) -> Option<std::net::SocketAddr> {
        self.transport.get_extra_info(name)
    }

    /// `get_extra_info(name)` for `"peername"` and `"sockname"` of a TCP or Unix socket (see
    /// [`Transport::get_extra_info_name`]).
    pub fn get_extra_info_name(&self, name: &str) -> Option<crate::SocketName> {
        self.transport.get_extra_info_name(name)
    }

    /// `wait_closed()`: until the connection is lost; its error, if it failed.
    pub async fn wait_closed(&self) -> Result<(), Error> {
        self.protocol.closed().await
    }

    /// `drain()`: the reader's error if it has one; after a close, one pass (so that
    /// `connection_lost` can run); then wait while the transport's buffer is over the high-water
    /// mark. Fails with `ConnectionResetError('Connection lost')` once the connection is lost.
    pub async fn drain(&self) -> Result<(), Error> {
        if let Some(error) = self.reader.as_ref().and_then(StreamReader::exception) {
            return Err(error);
        }
        if self.transport.is_closing() {
            sleep(0.0).await?;
        }
        self.protocol.drain_helper().await
    }
}

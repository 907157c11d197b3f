//! Shared by the datagram tests: the Python scenarios' `DatagramPrinter`, a `DatagramProtocol`
//! that records every callback as a line.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use asyncio_loop::{DatagramProtocol, DatagramTransport, Future, SocketName};

use super::{out, py_bytes};

/// Python's `f"{type(exc).__name__} {exc}"` for an `OSError` from the system.
#[allow(dead_code)]
pub fn py_os_error(error: &io::Error) -> String {
    let name = match error.kind() {
        io::ErrorKind::ConnectionRefused => "ConnectionRefusedError",
        io::ErrorKind::ConnectionReset => "ConnectionResetError",
        io::ErrorKind::WouldBlock => "BlockingIOError",
        _ => "OSError",
    };
    let text = error.to_string();
    match (error.raw_os_error(), text.rfind(" (os error ")) {
        (Some(errno), Some(end)) => format!("{name} [Errno {errno}] {}", &text[..end]),
        _ => format!("{name} {text}"),
    }
}

/// The scenarios' `DatagramPrinter`: prints each callback with the endpoint's name; an echoing
/// one sends each datagram back upper-cased; `done` gets its result in `connection_lost`.
#[allow(dead_code)]
pub struct DatagramPrinter {
    name: &'static str,
    done: Option<Future<()>>,
    echo: bool,
    /// The address `datagram_received` compares the sender's with.
    pub peer: RefCell<Option<SocketName>>,
    transport: RefCell<Option<DatagramTransport>>,
}

#[allow(dead_code)]
impl DatagramPrinter {
    /// A printer named `name`.
    pub fn new(name: &'static str, done: Option<Future<()>>, peer: Option<SocketName>) -> Rc<Self> {
        Rc::new(DatagramPrinter {
            name,
            done,
            echo: false,
            peer: RefCell::new(peer),
            transport: RefCell::new(None),
        })
    }

    /// A printer that echoes each datagram upper-cased to its sender.
    pub fn echo(name: &'static str, done: Option<Future<()>>) -> Rc<Self> {
        Rc::new(DatagramPrinter {
            name,
            done,
            echo: true,
            peer: RefCell::new(None),
            transport: RefCell::new(None),
        })
    }

    fn size(&self) -> usize {
        self.transport
            .borrow()
            .as_ref()
            .map_or(0, DatagramTransport::get_write_buffer_size)
    }
}

impl DatagramProtocol for DatagramPrinter {
    fn connection_made(&self, transport: &DatagramTransport) {
        out(format!("{} connection_made", self.name));
        *self.transport.borrow_mut() = Some(transport.clone());
    }

    fn datagram_received(&self, data: &[u8], addr: &SocketName) {
        let from_peer = self.peer.borrow().as_ref() == Some(addr);
        out(format!(
            "{} datagram_received {} from peer {}",
            self.name,
            py_bytes(data),
            super::py_bool(from_peer)
        ));
        if self.echo {
            let transport = self.transport.borrow().clone();
            if let Some(transport) = transport {
                transport
                    .sendto(&data.to_ascii_uppercase(), Some(addr.clone()))
                    .expect("an address of the socket's family");
            }
        }
    }

    fn error_received(&self, error: io::Error) {
        out(format!(
            "{} error_received {}",
            self.name,
            py_os_error(&error)
        ));
    }

    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        match error {
            None => out(format!("{} connection_lost None", self.name)),
            Some(error) => out(format!("{} connection_lost {error}", self.name)),
        }
        if let Some(done) = &self.done {
            let _ = done.set_result(());
        }
    }

    fn pause_writing(&self) {
        out(format!("{} pause_writing size={}", self.name, self.size()));
    }

    fn resume_writing(&self) {
        out(format!("{} resume_writing size={}", self.name, self.size()));
    }
}

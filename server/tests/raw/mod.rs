//! A raw protocol client for the server's tests: frames written and read by hand, so tests
//! can send what no real client would (garbage, truncated frames, requests out of order).
#![allow(dead_code, reason = "each test file uses a different part")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use levin_edn::{read, transit, Edn};
use levin_server::{read_frame, write_frame, Server};

/// The admin password the tests start their servers with.
pub const PW: &str = "pw";

/// Reads EDN text (test literals).
pub fn e(s: &str) -> Edn {
    read(s).unwrap()
}

/// One TCP connection to the server, driven frame by frame.
pub struct Raw(pub TcpStream);

impl Raw {
    /// Connects, with a 10 s read timeout.
    pub fn connect(server: &Server) -> Raw {
        let s = TcpStream::connect(server.local_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw(s)
    }

    /// Writes raw bytes, framed or not.
    pub fn bytes(&mut self, b: &[u8]) {
        self.0.write_all(b).unwrap();
    }

    /// Sends one EDN message as a transit frame.
    pub fn send(&mut self, m: &str) {
        write_frame(&mut self.0, transit::write(&e(m)).as_bytes()).unwrap();
    }

    /// The next reply, or None once the server closed the connection.
    pub fn recv(&mut self) -> Option<Edn> {
        read_frame(&mut self.0, 1 << 26)
            .ok()
            .flatten()
            .map(|p| transit::read_slice(&p).unwrap())
    }

    /// Connects and completes `:hello`.
    pub fn hello(server: &Server) -> Raw {
        let mut r = Raw::connect(server);
        r.send("{:type :hello :id 0 :protocol 1}");
        assert_eq!(r.recv().unwrap().get(&e(":type")), Some(&e(":hello-ok")));
        r
    }

    /// Connects, says hello and logs in as admin.
    pub fn ready(server: &Server) -> Raw {
        let mut r = Raw::hello(server);
        r.send(&format!(
            "{{:type :authenticate :id 0 :username \"admin\" :password \"{PW}\"}}"
        ));
        let ok = r.recv().unwrap();
        assert_eq!(ok.get(&e(":type")), Some(&e(":command-complete")), "{ok}");
        r
    }

    /// Sends `{:type op :id id :args args}` and returns the reply.
    pub fn call(&mut self, id: i64, op: &str, args: &str) -> Edn {
        self.send(&format!("{{:type :{op} :id {id} :args {args}}}"));
        self.recv().expect("a reply")
    }

    /// Whether the server closed the connection (a read sees its end).
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.0.read(&mut b), Ok(0) | Err(_))
    }
}

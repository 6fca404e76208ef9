//! The `dangjian` command: wires configuration to the application and the web server.

fn main() {}

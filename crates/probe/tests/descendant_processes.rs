//! `descendant_processes()` counts children and grandchildren. The only test in its binary, so
//! no other test's child changes the count under it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn counts_a_child_and_its_grandchild() {
    assert_eq!(probe::threads::descendant_processes().unwrap(), 0);

    // sh (the child) starts cat (the grandchild) reading our pipe through fd 3, then says ready;
    // cat exists once "ready" arrives, and both exit when we close the pipe.
    let mut child = Command::new("sh")
        .args(["-c", "exec 3<&0; cat <&3 >/dev/null & echo ready; wait"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    let stdout = child.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n");

    assert_eq!(probe::threads::descendant_processes().unwrap(), 2);

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert_eq!(probe::threads::descendant_processes().unwrap(), 0);
}

package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

// serveEcho is `bench serve-echo [-addr 127.0.0.1:0]`: a TCP echo server, one
// goroutine per connection copying what it reads back with a 64 KiB buffer,
// for the shared load generator (peers/go/loadgen). It prints "PORT <n>" on
// stdout once it listens and serves until it is killed.
func serveEcho(args []string) {
	flags := flag.NewFlagSet("serve-echo", flag.ExitOnError)
	addr := flags.String("addr", "127.0.0.1:0", "address to listen on")
	flags.Parse(args)
	if flags.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "usage: bench serve-echo [-addr host:port]\n")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fail("serve-echo: %v", err)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		conn, err := ln.Accept()
		if err != nil {
			// Such as EMFILE: back off and retry, as net/http does.
			logf("serve-echo: accept: %v", err)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go echo(conn)
	}
}

// echo copies everything conn sends back to it until EOF or an error.
func echo(conn net.Conn) {
	defer conn.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF, or the client went away
		}
	}
}

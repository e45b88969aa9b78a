// A Go client that reads its identity from one combined PEM file, as the README says Go can:
// tls.LoadX509KeyPair(f, f) (the key and every certificate of the one file). Usage: go run
// client.go CA_FILE IDENTITY_FILE HOST:PORT. Prints how many certificates the pair holds, then
// the server's answer; exit 1 when the handshake fails, 2 when a file cannot be read.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
)

func main() {
	ca, identity, addr := os.Args[1], os.Args[2], os.Args[3]
	pair, err := tls.LoadX509KeyPair(identity, identity)
	if err != nil {
		fmt.Println("load:", err)
		os.Exit(2)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		fmt.Println("ca:", err)
		os.Exit(2)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: []tls.Certificate{pair}})
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	body, _ := io.ReadAll(conn)
	fmt.Printf("certificates in the pair: %d\n%s", len(pair.Certificate), body)
}

// certlab's Go client: Go's crypto/tls and crypto/x509, standard library only.
//
// It reads one job per line on stdin (tab-separated: id host port server_name ca cert key tls
// ciphers alpn, `-` for an absent value), connects, completes the handshake, sends one HTTP/1.1
// request and reads the answer, then writes one line on stdout: `id<TAB>ok<TAB>-`,
// `id<TAB>fail<TAB>WORDS` or `id<TAB>na<TAB>WHY`. The CA file is the only trust; the cipher
// names are Go's (IANA) names of TLS 1.2 suites (Go cannot restrict TLS 1.3 suites).
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

const timeout = 5 * time.Second

func oneLine(s string) string {
	s = strings.NewReplacer("\t", " ", "\r", " ", "\n", " ").Replace(s)
	return strings.TrimSpace(s)
}

func job(f []string) (string, string) {
	host, port, name, caFile, certFile, keyFile, version, ciphers, alpn :=
		f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return "na", "cannot read the CA file: " + err.Error()
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return "na", "no certificate in the CA file"
	}
	config := &tls.Config{RootCAs: roots, ServerName: name}
	if certFile != "-" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return "na", "cannot load the client certificate: " + err.Error()
		}
		config.Certificates = []tls.Certificate{pair}
	}
	switch version {
	case "1.2":
		config.MinVersion, config.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case "1.3":
		config.MinVersion, config.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	}
	if ciphers != "-" {
		byName := map[string]uint16{}
		for _, s := range tls.CipherSuites() {
			byName[s.Name] = s.ID
		}
		for _, c := range strings.Split(ciphers, ",") {
			id, ok := byName[c]
			if !ok {
				return "na", "Go does not know the cipher suite " + c
			}
			config.CipherSuites = append(config.CipherSuites, id)
		}
	}
	if alpn != "-" {
		config.NextProtos = strings.Split(alpn, ",")
	}
	dialer := &net.Dialer{Timeout: timeout}
	conn, err := tls.DialWithDialer(dialer, "tcp", net.JoinHostPort(host, port), config)
	if err != nil {
		return "fail", err.Error()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	request := "GET / HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(request)); err != nil {
		return "fail", err.Error()
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if n > 0 {
		return "ok", "-"
	}
	if err != nil {
		return "fail", err.Error()
	}
	return "fail", "the server closed the connection without an answer"
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		line := in.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 10 {
			fmt.Fprintf(out, "%s\tna\tbad job line (%d fields)\n", f[0], len(f))
		} else {
			kind, words := job(f)
			fmt.Fprintf(out, "%s\t%s\t%s\n", f[0], kind, oneLine(words))
		}
		out.Flush()
	}
}

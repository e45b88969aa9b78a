"""Python's ssl as a client of a loopback TLS server that presents DIR/chain.pem, trusting
DIR/ca.pem (and checking DIR/crl.pem for the leaf when it exists). For tests/it/check_strict.rs.

Usage: pyverify.py DIR default|strict HOST
`strict` adds VERIFY_X509_STRICT | VERIFY_X509_PARTIAL_CHAIN (Python >= 3.13's default).
Prints `OK` (exit 0) or `REJECT <OpenSSL's verify message>` (exit 1).

`pyverify.py DIR serve`: only the server; prints its port, serves one handshake and one HTTP
answer (10 s at most) and exits."""
import os
import socket
import ssl
import sys
import threading

d, mode = sys.argv[1], sys.argv[2]
host = sys.argv[3] if len(sys.argv) > 3 else None
server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server.load_cert_chain(os.path.join(d, "chain.pem"), os.path.join(d, "leaf.key"))
client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client.load_verify_locations(os.path.join(d, "ca.pem"))
crl = os.path.join(d, "crl.pem")
if os.path.exists(crl):
    client.load_verify_locations(crl)
    client.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
if mode == "strict":
    client.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
listener.settimeout(10)


def serve(answer=False):
    try:
        conn, _ = listener.accept()
        conn.settimeout(10)
        tls = server.wrap_socket(conn, server_side=True)
        if answer:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        tls.close()
    except (OSError, ssl.SSLError):
        pass


if mode == "serve":
    print(listener.getsockname()[1], flush=True)
    serve(answer=True)
    sys.exit(0)

thread = threading.Thread(target=serve)
thread.start()
sock = socket.create_connection(listener.getsockname(), timeout=10)
code = 0
try:
    client.wrap_socket(sock, server_hostname=host).close()
    print("OK")
except ssl.SSLCertVerificationError as e:
    print("REJECT", e.verify_message)
    code = 1
finally:
    sock.close()
    thread.join()
    listener.close()
sys.exit(code)

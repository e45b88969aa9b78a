# A Python client that reads its identity from one combined PEM file, as the README says
# Python can: SSLContext.load_cert_chain(f) (the key and every certificate of the one file).
# Usage: client.py CA_FILE IDENTITY_FILE PORT (127.0.0.1, server name localhost). Prints the
# server's answer.
import socket, ssl, sys
ca, identity, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(identity)
with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := tls.recv(4096):
            data += chunk
print(data.decode(errors="replace"))

"""certlab's gRPC client: grpcio (gRPC core on BoringSSL).

It reads one job per line on stdin (tab-separated: id host port server_name ca cert key tls
ciphers alpn, `-` for an absent value), opens a secure channel that trusts only the CA file
(with `grpc.ssl_target_name_override` set to the server name) and makes one unary call. The lab
endpoints answer HTTP/1.1, so a call that got past TLS fails as gRPC, not as TLS: that counts
as accepted. It writes one line per job on stdout: `id<TAB>ok<TAB>-`, `id<TAB>fail<TAB>WORDS`
(the call's status details) or `id<TAB>na<TAB>WHY`. grpcio cannot restrict the TLS version or
the cipher suites of a channel, and always offers h2.
"""

import os
import sys

os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # noqa: E402

TIMEOUT_S = 5.0

# What gRPC says when the TLS connection worked and the server then spoke HTTP/1.1: the lab
# server answers the HTTP/2 preface with an HTTP/1.1 response and closes, which gRPC's HTTP/2
# transport reports as "Socket closed" (a failed handshake or certificate check says
# "Tls handshake failed", "Custom verification check failed", or "Unwrap failed" for an alert
# after the handshake). Either way the handshake and the certificate checks passed.
PAST_TLS = (
    "Socket closed",
    "http1.x server",
)


def one_line(text):
    return " ".join(str(text).split())


def job(f):
    _, host, port, name, ca_file, cert_file, key_file, version, ciphers, alpn = f
    if version != "-":
        return "na", "grpcio cannot restrict a channel's TLS version"
    if ciphers != "-":
        return "na", "grpcio cannot choose a channel's cipher suites (BoringSSL TLS 1.3 suites are fixed)"
    if alpn != "-" and alpn.split(",") != ["h2"]:
        return "na", "grpcio always offers its own ALPN list (grpc-exp, h2)"
    try:
        with open(ca_file, "rb") as fh:
            ca = fh.read()
        key = chain = None
        if cert_file != "-":
            with open(cert_file, "rb") as fh:
                chain = fh.read()
            with open(key_file, "rb") as fh:
                key = fh.read()
    except OSError as e:
        return "na", f"cannot read the job's files: {e}"
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=chain
    )
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = [
        ("grpc.ssl_target_name_override", name),
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.enable_retries", 0),
    ]
    channel = grpc.secure_channel(target, creds, options=options)
    try:
        call = channel.unary_unary(
            "/certlab.Lab/Probe",
            request_serializer=None,
            response_deserializer=None,
        )
        call(b"", timeout=TIMEOUT_S)
        return "ok", "-"
    except grpc.RpcError as e:
        details = one_line(e.details() or "")
        if any(marker in details for marker in PAST_TLS):
            return "ok", "-"
        if key is not None and "Failed to create security handshaker" in details:
            # BoringSSL could not load the client certificate or key (e.g. a PKCS#8 v2
            # Ed25519 key): the job's limit, not a handshake failure.
            return "na", f"grpcio (BoringSSL) cannot load the client key: {details}"
        return "fail", f"{e.code().name}: {details}"
    finally:
        channel.close()


def main():
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) != 10:
            kind, words = "na", f"bad job line ({len(f)} fields)"
        else:
            kind, words = job(f)
        sys.stdout.write(f"{f[0]}\t{kind}\t{one_line(words)}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

# An OTLP/gRPC trace receiver for tests/it/render.rs: grpcio's own server (gRPC core, BoringSSL)
# with the TLS settings of a collector config's `receivers.otlp.protocols.grpc.tls` block,
# client certificates required. Usage: receiver.py CERT_FILE KEY_FILE CLIENT_CA_FILE.
# Prints `listening<TAB>PORT` once it listens on localhost, then `span<TAB>NAME<TAB>CN` for every
# span it receives (CN: the common name of the client certificate the exporter presented), and
# stops when its stdin closes.
import sys
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        names = context.auth_context().get("x509_common_name") or [b"-"]
        cn = names[0].decode()
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    print(f"span\t{span.name}\t{cn}", flush=True)
        return trace_service_pb2.ExportTraceServiceResponse()


def main():
    cert_file, key_file, client_ca_file = sys.argv[1:4]
    read = lambda path: open(path, "rb").read()
    credentials = grpc.ssl_server_credentials(
        [(read(key_file), read(cert_file))],
        root_certificates=read(client_ca_file),
        require_client_auth=True,
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    port = server.add_secure_port("localhost:0", credentials)
    server.start()
    print(f"listening\t{port}", flush=True)
    sys.stdin.read()
    server.stop(0)


main()

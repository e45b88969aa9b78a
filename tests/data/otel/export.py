# Exports one span with the OpenTelemetry Python SDK's OTLP/gRPC exporter configured only by the
# environment (OTEL_EXPORTER_OTLP_ENDPOINT, _CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY), as
# an application does after `set -a; . ./otel.env; set +a`. Usage: export.py SPAN_NAME.
# Exit 0 when the exporter reports success, 1 when it reports failure (its log on stderr).
import sys

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

finished = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(finished))
with provider.get_tracer("certlab-test").start_as_current_span(sys.argv[1]):
    pass
exporter = OTLPSpanExporter(timeout=3)
result = exporter.export(finished.get_finished_spans())
exporter.shutdown()
print(result.name)
sys.exit(0 if result == SpanExportResult.SUCCESS else 1)

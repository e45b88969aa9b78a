// Exports one span with the OpenTelemetry JS SDK's OTLP/gRPC exporter configured only by the
// environment (OTEL_EXPORTER_OTLP_ENDPOINT, _CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY), as an
// application does after `set -a; . ./otel.env; set +a`. Usage: node export.js SPAN_NAME (the
// packages found through NODE_PATH). Prints SUCCESS or FAILURE; exit 0 or 1.
'use strict';
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} = require('@opentelemetry/sdk-trace-base');

const finished = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(finished)] });
provider.getTracer('certlab-test').startSpan(process.argv[2]).end();
const exporter = new OTLPTraceExporter({ timeoutMillis: 3000 });
exporter.export(finished.getFinishedSpans(), (result) => {
  const ok = result.code === 0;
  if (result.error) console.error(String(result.error && result.error.message || result.error));
  console.log(ok ? 'SUCCESS' : 'FAILURE');
  exporter.shutdown().finally(() => process.exit(ok ? 0 : 1));
});

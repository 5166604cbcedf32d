import { context, INVALID_SPAN_CONTEXT, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';

/**
 * OpenTelemetry tracing, off by default. With TRACING_EXPORTER=otlp every process registers a tracer
 * provider that exports spans over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and the W3C
 * `traceparent` / `tracestate` headers carry the trace from the client through the gateway (its own
 * gateway.* spans: plan, execute, fetch per subgraph), subgraph-to-subgraph calls, and each subgraph's
 * request and database spans. Off, the API is the no-op one: no span is created and nothing is exported.
 */
export const tracingConfigShape = {
  /** none (default) or otlp: export spans over OTLP/HTTP to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. */
  TRACING_EXPORTER: z.enum(['none', 'otlp']).default('none'),
  /** Where spans go (an OpenTelemetry Collector, Jaeger, Tempo …), OTLP/HTTP JSON. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().default('http://127.0.0.1:4318/v1/traces'),
  /** Share of new traces sampled (0–1); a caller's sampled `traceparent` is always followed. */
  TRACING_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(1),
};
export type TracingConfig = z.infer<z.ZodObject<typeof tracingConfigShape>>;

const TRACER = 'innkeep';
let provider: NodeTracerProvider | undefined;

/** Registers the process-wide tracer provider when tracing is on (once per process). */
export async function startTracing(service: string, config: TracingConfig): Promise<{ shutdown(): Promise<void> }> {
  if (config.TRACING_EXPORTER === 'none' || provider) return { shutdown: async () => undefined };
  // Loaded only when tracing is on: the SDK, exporter and instrumentation weigh ~13 MB of heap otherwise.
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler }, { NodeTracerProvider }, { PrismaInstrumentation }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
    import('@prisma/instrumentation'),
  ]);
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `innkeep-${service}`, 'service.namespace': 'innkeep' }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.TRACING_SAMPLE_RATIO) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT }), { scheduledDelayMillis: 500 })],
  });
  // Global: the AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  // Prisma's own spans (prisma:client:operation, prisma:client:db_query with the SQL) under the request.
  new PrismaInstrumentation().enable();
  const registered = provider;
  return {
    shutdown: async () => {
      await registered.shutdown().catch(() => undefined);
    },
  };
}

export const tracer = () => trace.getTracer(TRACER);

/** The active trace ID for log lines (undefined when tracing is off or no span is active). */
export function activeTraceId(): string | undefined {
  // Every log line asks: with tracing off, answer without touching the context API.
  if (!provider) return undefined;
  const span = trace.getActiveSpan();
  const id = span?.spanContext().traceId;
  return id && id !== '00000000000000000000000000000000' ? id : undefined;
}

/** W3C trace-context headers of the active span, for an outgoing request. */
export function traceHeaders(): Record<string, string> {
  if (!provider) return {};
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * Express middleware: continues the caller's trace (`traceparent`) or starts one, as a SERVER span that
 * is active for everything the request does and ends with the response.
 */
export function traceRequests() {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!provider) return next();
    const parent = propagation.extract(context.active(), req.headers);
    const path = req.originalUrl.split('?')[0] ?? '/';
    const span = tracer().startSpan(`${req.method} ${path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': path } }, parent);
    res.on('finish', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

const NOOP_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Runs `work` in a child span of the active one (client calls, subscription events). */
export async function inSpan<T>(name: string, attributes: Record<string, string | number>, work: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  if (!provider) return work(NOOP_SPAN);
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };

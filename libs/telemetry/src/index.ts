/**
 * @rfw/telemetry: the services' OpenTelemetry SDK set-up. The libraries
 * (`@rfw/core`, `@rfw/worker`) depend on `@opentelemetry/api` only and make
 * their spans through it; a service calls `startTracing()` first thing, which
 * registers a tracer provider with an OTLP/HTTP exporter when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
 * set. When it is not, nothing is loaded and every span stays the API's no-op.
 *
 * The exporter and batch processor read the standard variables themselves
 * (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`, ...);
 * `OTEL_SERVICE_NAME` overrides the service name and `OTEL_SDK_DISABLED=true`
 * turns it all off.
 */

/** What `startTracing()` set up. */
export interface Tracing {
  /** Whether an exporter is running. */
  readonly enabled: boolean;
  /** Export what is buffered and stop; resolves when done (or at once when disabled). */
  shutdown(): Promise<void>;
}

const DISABLED: Tracing = { enabled: false, shutdown: () => Promise.resolve() };

/** The OTLP endpoint tracing would export to, if the environment names one. */
export function tracingEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return undefined;
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
}

/**
 * Register the SDK for `serviceName` when the environment names an OTLP
 * endpoint. Spans are batched (`OTEL_BSP_SCHEDULE_DELAY`, 5 s by default);
 * on SIGTERM/SIGINT what is buffered is flushed while the service drains.
 */
export async function startTracing(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing> {
  if (!tracingEndpoint(env)) return DISABLED;
  const [
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { resourceFromAttributes },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // The global tracer provider, the W3C trace-context propagator and an
  // AsyncLocalStorage context manager.
  provider.register();
  const flush = (): void => {
    provider.forceFlush().catch(() => undefined);
  };
  process.once('SIGTERM', flush);
  process.once('SIGINT', flush);
  return {
    enabled: true,
    shutdown: async () => {
      process.off('SIGTERM', flush);
      process.off('SIGINT', flush);
      await provider.shutdown();
    },
  };
}

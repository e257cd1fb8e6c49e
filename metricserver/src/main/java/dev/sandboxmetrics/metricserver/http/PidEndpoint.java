package dev.sandboxmetrics.metricserver.http;

import io.netty.handler.codec.http.HttpResponseStatus;

/** {@code GET /runsc-metrics/pid}: the server's PID as text, so tools can signal the right process. */
public final class PidEndpoint implements Routes.Endpoint {
  private final String pid;

  public PidEndpoint(long pid) {
    this.pid = Long.toString(pid);
  }

  @Override
  public void handle(Exchange exchange) {
    exchange.respond(HttpResponseStatus.OK, Exchange.TEXT, pid);
  }
}

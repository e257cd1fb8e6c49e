package dev.sandboxmetrics.metricserver.http;

import io.netty.handler.codec.http.HttpResponseStatus;

/** {@code GET /}: a small HTML page pointing to {@code /metrics}, like runsc's, and to {@code /sandboxes}. */
public final class IndexEndpoint implements Routes.Endpoint {
  private static final String PAGE =
      "<html><head><title>runsc metrics</title></head><body>"
          + "<p>You have reached the sandbox-metrics server page (a runsc metric server).</p>"
          + "<p>To see actual metric data, head over to <a href=\"/metrics\">/metrics</a>.</p>"
          + "<p>To see which sandboxes it serves, and why any is missing, see <a href=\"/sandboxes\">/sandboxes</a>.</p>"
          + "</body></html>";

  @Override
  public void handle(Exchange exchange) {
    exchange.respond(HttpResponseStatus.OK, "text/html; charset=utf-8", PAGE);
  }
}

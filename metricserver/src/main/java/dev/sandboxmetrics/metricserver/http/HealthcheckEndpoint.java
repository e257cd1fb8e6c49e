package dev.sandboxmetrics.metricserver.http;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code /runsc-metrics/healthcheck}: lets a client make sure it talks to the metric server of the root
 * directory it means (runsc's own client POSTs {@code root=DIR} as a form before using a server). 200 with
 * {@code runsc-metrics:OK} when {@code root} is our root, 400 otherwise. As with Go's {@code ParseForm}, a
 * url-encoded POST body is read first and the query second; the first {@code root} value wins.
 */
public final class HealthcheckEndpoint implements Routes.Endpoint {
  public static final String OK_BODY = "runsc-metrics:OK";
  private static final String FORM = "application/x-www-form-urlencoded";

  private final String rootDir;

  public HealthcheckEndpoint(String rootDir) {
    this.rootDir = rootDir;
  }

  @Override
  public void handle(Exchange exchange) {
    String root;
    try {
      root = requestedRoot(exchange);
    } catch (IllegalArgumentException e) {
      exchange.respondError(HttpResponseStatus.BAD_REQUEST, "cannot parse form: " + e.getMessage());
      return;
    }
    if (!rootDir.equals(root)) {
      exchange.respondError(
          HttpResponseStatus.BAD_REQUEST, "this metric server is configured to serve root directory: " + rootDir);
      return;
    }
    exchange.respond(HttpResponseStatus.OK, Exchange.TEXT, OK_BODY);
  }

  private static String requestedRoot(Exchange exchange) {
    if (exchange.method().equals(HttpMethod.POST) && isForm(exchange.contentType())) {
      String body = new String(exchange.body(), StandardCharsets.UTF_8);
      Map<String, List<String>> form = new QueryStringDecoder(body, StandardCharsets.UTF_8, false).parameters();
      List<String> values = form.get("root");
      if (values != null && !values.isEmpty()) {
        return values.get(0);
      }
    }
    return exchange.queryParameter("root");
  }

  private static boolean isForm(String contentType) {
    int semicolon = contentType.indexOf(';');
    String type = semicolon < 0 ? contentType : contentType.substring(0, semicolon);
    return type.trim().toLowerCase(Locale.ROOT).equals(FORM);
  }
}

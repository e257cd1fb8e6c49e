package dev.sandboxmetrics.metricserver.status;

import dev.sandboxmetrics.metricserver.http.Exchange;
import dev.sandboxmetrics.metricserver.http.Routes;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /sandboxes}: every sandbox the server knows, one row each ({@link SandboxStatus}), as text,
 * JSON or HTML by content negotiation ({@code Accept}), or as {@code ?format=text|json|html} says. Rescans
 * the root directory first (cheap when nothing changed), on the worker executor, so that a person sees a
 * sandbox as soon as its state file exists; the query columns change only when {@code /metrics} is scraped.
 * Registered by the metric server.
 */
public final class StatusEndpoint implements Routes.Endpoint {
  private static final Logger log = LoggerFactory.getLogger(StatusEndpoint.class);
  static final int DEFAULT_REFRESH_SECONDS = 10;
  private static final int MAX_REFRESH_SECONDS = 3600;

  enum Format { TEXT, JSON, HTML }

  private final SandboxStatus status;
  private final Runnable rescan;
  private final Executor work;
  private final String rootDir;
  private final String address;
  private final Clock clock;

  /**
   * @param rescan rescans the root directory (the registry's {@code refresh}); must not throw for a root
   *     directory that cannot be listed
   */
  public StatusEndpoint(
      SandboxStatus status, Runnable rescan, Executor work, String rootDir, String address, Clock clock) {
    this.status = status;
    this.rescan = rescan;
    this.work = work;
    this.rootDir = rootDir;
    this.address = address;
    this.clock = clock;
  }

  @Override
  public void handle(Exchange exchange) {
    Format format;
    int refresh;
    try {
      format = format(exchange.queryParameter("format"), exchange.accept());
      refresh = refresh(exchange.queryParameter("refresh"));
    } catch (IllegalArgumentException e) {
      exchange.respondError(HttpResponseStatus.BAD_REQUEST, e.getMessage());
      return;
    }
    try {
      work.execute(() -> answer(exchange, format, refresh));
    } catch (RejectedExecutionException e) {
      exchange.respondError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server is shutting down or overloaded");
    }
  }

  private void answer(Exchange exchange, Format format, int refresh) {
    try {
      rescan.run();
    } catch (RuntimeException e) {
      log.debug("Rescan for /sandboxes failed: {}", e.toString());
    }
    List<SandboxRow> rows = status.rows();
    StatusFormats.Context ctx = new StatusFormats.Context(rootDir, address, clock.instant(), refresh);
    switch (format) {
      case JSON:
        exchange.respond(HttpResponseStatus.OK, "application/json", StatusFormats.json(rows, ctx), Map.of());
        break;
      case HTML:
        exchange.respond(
            HttpResponseStatus.OK,
            "text/html; charset=utf-8",
            StatusFormats.html(rows, ctx).getBytes(StandardCharsets.UTF_8),
            Map.of(
                "Content-Security-Policy", StatusFormats.CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options", "nosniff",
                "Cache-Control", "no-store"));
        break;
      default:
        exchange.respond(
            HttpResponseStatus.OK,
            "text/plain; charset=utf-8",
            StatusFormats.text(rows, ctx).getBytes(StandardCharsets.UTF_8),
            Map.of());
    }
  }

  /**
   * The format: {@code ?format=} when given, else the type the Accept header prefers among text/html,
   * application/json and text/plain (a browser gets HTML, {@code curl} with its {@code * / *} gets text).
   */
  static Format format(String parameter, String accept) {
    if (!parameter.isEmpty()) {
      switch (parameter.toLowerCase(Locale.ROOT)) {
        case "text":
          return Format.TEXT;
        case "json":
          return Format.JSON;
        case "html":
          return Format.HTML;
        default:
          throw new IllegalArgumentException("format must be text, json or html, not \"" + parameter + "\"");
      }
    }
    Format best = Format.TEXT;
    double bestQ = 0;
    for (String range : accept.split(",")) {
      String[] parts = range.trim().split(";");
      String type = parts[0].trim().toLowerCase(Locale.ROOT);
      Format f =
          type.equals("text/html") || type.equals("application/xhtml+xml")
              ? Format.HTML
              : type.equals("application/json") ? Format.JSON : type.equals("text/plain") ? Format.TEXT : null;
      if (f == null) {
        continue;
      }
      double q = 1;
      for (int i = 1; i < parts.length; i++) {
        String p = parts[i].trim();
        if (p.startsWith("q=")) {
          try {
            q = Double.parseDouble(p.substring(2));
          } catch (NumberFormatException e) {
            q = 0;
          }
        }
      }
      if (q > bestQ) {
        best = f;
        bestQ = q;
      }
    }
    return best;
  }

  static int refresh(String parameter) {
    if (parameter.isEmpty()) {
      return DEFAULT_REFRESH_SECONDS;
    }
    try {
      int n = Integer.parseInt(parameter);
      if (n >= 0 && n <= MAX_REFRESH_SECONDS) {
        return n;
      }
    } catch (NumberFormatException e) {
      // the message below
    }
    throw new IllegalArgumentException(
        "refresh must be a number of seconds from 0 (never) to " + MAX_REFRESH_SECONDS + ", not \"" + parameter + "\"");
  }
}

package dev.sandboxmetrics.metricserver.status;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The three forms of the status page, rendered from the same rows: aligned text columns for {@code curl},
 * JSON for scripts, and a self-contained HTML page for a browser (inline style and script, no external
 * assets; columns sort on a click; it reloads itself; rows in trouble are highlighted). Used by
 * {@link StatusEndpoint}.
 *
 * <p>Sandbox IDs, pod names, namespaces and errors come from state files and sandboxes, which are untrusted:
 * the HTML escapes every one of them, the JSON generator escapes them as JSON strings, and the text form
 * shows control characters as escapes so a sandbox cannot rewrite an operator's terminal.
 */
final class StatusFormats {
  /** What every form says about the server itself. */
  record Context(String rootDir, String address, Instant now, int refreshSeconds) {}

  private static final JsonFactory JSON = new JsonFactory();
  private static final DateTimeFormatter TIME = DateTimeFormatter.ISO_INSTANT;

  private StatusFormats() {}

  // ---- text/plain ----

  static String text(List<SandboxRow> rows, Context ctx) {
    StringBuilder out = new StringBuilder();
    out.append("Sandboxes in root directory ").append(printable(ctx.rootDir()))
        .append(", metric server address ").append(printable(ctx.address()))
        .append(", at ").append(TIME.format(ctx.now().truncatedTo(ChronoUnit.SECONDS))).append('\n');
    out.append(summary(rows)).append("\n\n");
    String[] header = {
      "SANDBOX", "POD", "NAMESPACE", "ITERATION", "PID", "STATE", "LAST QUERY", "REPLY", "SERIES", "LAST SERVED", "ERROR"
    };
    List<String[]> table = new ArrayList<>();
    table.add(header);
    for (SandboxRow r : rows) {
      table.add(new String[] {
        printable(r.id()),
        dash(printable(r.podName())),
        dash(printable(r.namespace())),
        dash(printable(r.iteration())),
        r.pid() == 0 ? "-" : Long.toString(r.pid()),
        r.state().words(),
        duration(r.lastQueryNanos()),
        bytes(r.replyBytes()),
        r.series() < 0 ? "-" : Long.toString(r.series()),
        ago(r.lastServed(), ctx.now()),
        printable(r.error()),
      });
    }
    int[] width = new int[header.length];
    for (String[] line : table) {
      for (int i = 0; i < line.length; i++) {
        width[i] = Math.max(width[i], line[i].length());
      }
    }
    for (String[] line : table) {
      StringBuilder l = new StringBuilder();
      for (int i = 0; i < line.length; i++) {
        l.append(line[i]);
        if (i < line.length - 1) {
          l.append(" ".repeat(width[i] - line[i].length() + 2));
        }
      }
      out.append(l.toString().stripTrailing()).append('\n');
    }
    return out.toString();
  }

  /** Control characters (and DEL, and Unicode line separators) as escapes: one row stays one line. */
  static String printable(String s) {
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean control = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029';
      if (control) {
        if (out == null) {
          out = new StringBuilder(s.length() + 8).append(s, 0, i);
        }
        out.append(c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : String.format("\\u%04x", (int) c));
      } else if (out != null) {
        out.append(c);
      }
    }
    return out == null ? s : out.toString();
  }

  // ---- application/json ----

  static byte[] json(List<SandboxRow> rows, Context ctx) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256 + rows.size() * 400);
    try (JsonGenerator g = JSON.createGenerator(bytes)) {
      g.useDefaultPrettyPrinter();
      g.writeStartObject();
      g.writeStringField("root_directory", ctx.rootDir());
      g.writeStringField("metric_server", ctx.address());
      g.writeStringField("time", TIME.format(ctx.now()));
      g.writeArrayFieldStart("sandboxes");
      for (SandboxRow r : rows) {
        g.writeStartObject();
        g.writeStringField("id", r.id());
        g.writeStringField("pod_name", r.podName());
        g.writeStringField("namespace_name", r.namespace());
        g.writeStringField("iteration", r.iteration());
        g.writeNumberField("pid", r.pid());
        g.writeStringField("state", r.state().words());
        g.writeBooleanField("trouble", r.state().isTrouble());
        g.writeStringField("error", r.error());
        g.writeStringField("reason", r.reason() == null ? null : r.reason().label());
        if (r.lastQueryNanos() < 0) {
          g.writeNullField("last_query_seconds");
        } else {
          g.writeNumberField("last_query_seconds", r.lastQueryNanos() / 1e9);
        }
        nullableNumber(g, "reply_bytes", r.replyBytes());
        nullableNumber(g, "series", r.series());
        g.writeStringField("last_served", r.lastServed() == null ? null : TIME.format(r.lastServed()));
        g.writeStringField("last_queried", r.lastQueried() == null ? null : TIME.format(r.lastQueried()));
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write JSON in memory", e);
    }
    bytes.write('\n');
    return bytes.toByteArray();
  }

  private static void nullableNumber(JsonGenerator g, String name, long v) throws IOException {
    if (v < 0) {
      g.writeNullField(name);
    } else {
      g.writeNumberField(name, v);
    }
  }

  // ---- text/html ----

  /**
   * The page's only script: sorts the table when a header is clicked (numbers by their data-v value, the
   * rest as text), remembers the order in the URL's fragment so that the reload keeps it, and reloads the
   * page every N seconds (N from the body's data-refresh; 0 turns it off) unless paused.
   */
  static final String SCRIPT = String.join("\n",
      "(function () {",
      "  var table = document.getElementById('sandboxes');",
      "  var body = table.tBodies[0];",
      "  var heads = table.tHead.rows[0].cells;",
      "  function key(row, col) {",
      "    var cell = row.cells[col];",
      "    var v = cell.getAttribute('data-v');",
      "    return v === null ? cell.textContent : Number(v);",
      "  }",
      "  function sort(col, desc) {",
      "    var rows = Array.prototype.slice.call(body.rows);",
      "    rows.sort(function (a, b) {",
      "      var x = key(a, col), y = key(b, col);",
      "      var c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));",
      "      if (c === 0) { c = key(a, 0).localeCompare(key(b, 0)); }",
      "      return desc ? -c : c;",
      "    });",
      "    rows.forEach(function (r) { body.appendChild(r); });",
      "    for (var i = 0; i < heads.length; i++) {",
      "      heads[i].setAttribute('aria-sort', i === col ? (desc ? 'descending' : 'ascending') : 'none');",
      "    }",
      "    table.setAttribute('data-sorted', col + (desc ? '-desc' : '-asc'));",
      "  }",
      "  var state = /^#sort=(\\d+)-(asc|desc)$/.exec(location.hash);",
      "  var current = state ? [Number(state[1]), state[2] === 'desc'] : null;",
      "  if (current && current[0] < heads.length) { sort(current[0], current[1]); }",
      "  Array.prototype.forEach.call(heads, function (th, col) {",
      "    th.addEventListener('click', function () {",
      "      var desc = current && current[0] === col ? !current[1] : false;",
      "      current = [col, desc];",
      "      sort(col, desc);",
      "      history.replaceState(null, '', '#sort=' + col + '-' + (desc ? 'desc' : 'asc'));",
      "    });",
      "  });",
      "  var refresh = Number(document.body.getAttribute('data-refresh'));",
      "  var pause = document.getElementById('pause');",
      "  if (refresh > 0) {",
      "    var timer = setTimeout(function () { location.reload(); }, refresh * 1000);",
      "    pause.addEventListener('change', function () {",
      "      clearTimeout(timer);",
      "      if (!pause.checked) { timer = setTimeout(function () { location.reload(); }, refresh * 1000); }",
      "    });",
      "  } else {",
      "    document.getElementById('reload').hidden = true;",
      "  }",
      "  document.body.setAttribute('data-ready', 'yes');",
      "})();");

  /** The Content-Security-Policy: nothing but this page's own style and its one script (by hash). */
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" + sha256(SCRIPT)
          + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private static final String STYLE = String.join("\n",
      "body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1a1a1a; background: #fff; }",
      "h1 { font-size: 1.3em; margin: 0 0 .3em; }",
      "p { margin: .2em 0; color: #444; }",
      "table { border-collapse: collapse; margin-top: 1em; width: 100%; }",
      "th, td { padding: .35em .6em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }",
      "th { background: #f0f0f0; cursor: pointer; user-select: none; white-space: nowrap; }",
      "th[aria-sort=ascending]::after { content: ' \\25B2'; }",
      "th[aria-sort=descending]::after { content: ' \\25BC'; }",
      "td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }",
      "td.id, td.iter { font-family: ui-monospace, monospace; }",
      "td.id { word-break: break-all; min-width: 8ch; }",
      "td.pod, td.ns, td.iter, td.state { white-space: nowrap; }",
      "td.error { max-width: 40em; word-break: break-word; }",
      "tr.trouble { background: #fde2e1; }",
      "tr.trouble td.state { color: #a00; font-weight: bold; }",
      "tr.quiet { color: #777; }",
      ".summary { font-weight: 600; }",
      "label { font-size: .9em; color: #444; }");

  static String html(List<SandboxRow> rows, Context ctx) {
    StringBuilder out = new StringBuilder(4096 + rows.size() * 600);
    out.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>Sandboxes - sandbox-metrics</title>\n<style>\n").append(STYLE).append("\n</style></head>\n")
        .append("<body data-refresh=\"").append(ctx.refreshSeconds()).append("\">\n")
        .append("<h1>Sandboxes</h1>\n")
        .append("<p>Root directory <code>").append(escape(ctx.rootDir())).append("</code>, metric server address <code>")
        .append(escape(ctx.address())).append("</code>, at ")
        .append(TIME.format(ctx.now().truncatedTo(ChronoUnit.SECONDS))).append(".</p>\n")
        .append("<p class=\"summary\" id=\"summary\">").append(escape(summary(rows))).append("</p>\n")
        .append("<p><a href=\"/metrics\">/metrics</a> &middot; <a href=\"/sandboxes?format=json\">JSON</a>")
        .append(" &middot; <a href=\"/sandboxes?format=text\">text</a>")
        .append("<span id=\"reload\"> &middot; <label><input type=\"checkbox\" id=\"pause\"> pause the reload every ")
        .append(ctx.refreshSeconds()).append(" s</label></span></p>\n")
        .append("<table id=\"sandboxes\">\n<thead><tr>");
    for (String h : new String[] {
      "Sandbox", "Pod", "Namespace", "Iteration", "PID", "State", "Last error", "Last query", "Reply", "Series", "Last served"
    }) {
      out.append("<th scope=\"col\" aria-sort=\"none\">").append(h).append("</th>");
    }
    out.append("</tr></thead>\n<tbody>\n");
    for (SandboxRow r : rows) {
      String rowClass =
          r.state().isTrouble() ? "trouble" : r.state() == SandboxState.SERVED ? "ok" : "quiet";
      out.append("<tr class=\"").append(rowClass).append("\" data-state=\"").append(r.state().name().toLowerCase(Locale.ROOT))
          .append("\">");
      cell(out, "id", null, r.id());
      cell(out, "pod", null, r.podName());
      cell(out, "ns", null, r.namespace());
      cell(out, "iter", null, r.iteration());
      cell(out, "num", r.pid() == 0 ? "-1" : Long.toString(r.pid()), r.pid() == 0 ? "" : Long.toString(r.pid()));
      cell(out, "state", null, r.state().words());
      cell(out, "error", null, r.error());
      cell(out, "num", Long.toString(r.lastQueryNanos()), duration(r.lastQueryNanos()));
      cell(out, "num", Long.toString(r.replyBytes()), bytes(r.replyBytes()));
      cell(out, "num", Long.toString(r.series()), r.series() < 0 ? "-" : Long.toString(r.series()));
      cell(out, "num", r.lastServed() == null ? "-1" : Long.toString(r.lastServed().toEpochMilli()),
          ago(r.lastServed(), ctx.now()));
      out.append("</tr>\n");
    }
    out.append("</tbody></table>\n");
    if (rows.isEmpty()) {
      out.append("<p id=\"empty\">No sandboxes in the root directory.</p>\n");
    }
    out.append("<script>").append(SCRIPT).append("</script>\n</body></html>\n");
    return out.toString();
  }

  private static void cell(StringBuilder out, String cssClass, String sortValue, String text) {
    out.append("<td class=\"").append(cssClass).append('"');
    if (sortValue != null) {
      out.append(" data-v=\"").append(sortValue).append('"');
    }
    out.append('>').append(escape(text)).append("</td>");
  }

  /** HTML escaping for text and attribute values alike. */
  static String escape(String s) {
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String rep;
      switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\0': rep = "\uFFFD"; break;
        default: rep = null;
      }
      if (rep != null && out == null) {
        out = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (out != null) {
        if (rep != null) {
          out.append(rep);
        } else {
          out.append(c);
        }
      }
    }
    return out == null ? s : out.toString();
  }

  // ---- shared ----

  /** "3 sandboxes: 2 served, 1 broken." */
  static String summary(List<SandboxRow> rows) {
    Map<SandboxState, Integer> counts = new EnumMap<>(SandboxState.class);
    for (SandboxRow r : rows) {
      counts.merge(r.state(), 1, Integer::sum);
    }
    StringBuilder out = new StringBuilder();
    out.append(rows.size()).append(rows.size() == 1 ? " sandbox" : " sandboxes");
    String sep = ": ";
    for (Map.Entry<SandboxState, Integer> e : counts.entrySet()) {
      out.append(sep).append(e.getValue()).append(' ').append(e.getKey().words());
      sep = ", ";
    }
    return out.append('.').toString();
  }

  static String duration(long nanos) {
    if (nanos < 0) {
      return "-";
    }
    if (nanos < 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
    }
    return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
  }

  static String bytes(long n) {
    if (n < 0) {
      return "-";
    }
    if (n < 1024) {
      return n + " B";
    }
    if (n < 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
    }
    return String.format(Locale.ROOT, "%.1f MiB", n / (1024.0 * 1024));
  }

  static String ago(Instant t, Instant now) {
    if (t == null) {
      return "never";
    }
    long s = Math.max(0, Duration.between(t, now).toSeconds());
    if (s < 120) {
      return s + " s ago";
    }
    if (s < 7200) {
      return (s / 60) + " min ago";
    }
    return TIME.format(t.truncatedTo(ChronoUnit.SECONDS));
  }

  private static String dash(String s) {
    return s.isEmpty() ? "-" : s;
  }

  private static String sha256(String s) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}

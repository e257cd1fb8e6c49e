package dev.sandboxmetrics.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One tab of a headless Chromium driven over the DevTools protocol (a WebSocket from the JDK's own client):
 * navigate, and evaluate JavaScript in the page as a person's clicks would act. For what {@code --dump-dom}
 * cannot show: a click on a column header, a page that reloads itself.
 */
final class DevToolsPage implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://[^/]+)/");
  private static final Duration LIMIT = Duration.ofSeconds(60);

  private final ChildProcess browser;
  private final WebSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> waiting = new ConcurrentHashMap<>();

  private DevToolsPage(ChildProcess browser, WebSocket socket) {
    this.browser = browser;
    this.socket = socket;
  }

  /**
   * Starts Chromium (headless, fresh profile in {@code profile}) with the DevTools protocol on a free
   * loopback port and connects to its first tab.
   *
   * @param name the process's name in {@code processes}; its output goes to {@code log}
   */
  static DevToolsPage open(Path chromium, ChildProcesses processes, String name, Path profile, Path log)
      throws Exception {
    ChildProcess browser = processes.start(name, List.of(chromium.toString(), "--headless",
        "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile,
        "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"));
    String base = Await.until("Chromium's DevTools endpoint is announced", LIMIT, () -> {
      browser.assertAlive();
      Matcher m = LISTENING.matcher(Files.readString(log, StandardCharsets.UTF_8));
      return m.find() ? m.group(1).replace("ws://", "http://") : null;
    }, b -> b != null, processes::logs);
    HttpClient http = HttpClient.newHttpClient();
    String pageSocket = Await.until("Chromium lists its tab", LIMIT, () -> {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/json/list")).build(),
          HttpResponse.BodyHandlers.ofString());
      for (JsonNode target : JSON.readTree(r.body())) {
        if (target.path("type").asText().equals("page")) {
          return target.get("webSocketDebuggerUrl").asText();
        }
      }
      return null;
    }, s -> s != null, processes::logs);
    DevToolsPage[] page = new DevToolsPage[1];
    WebSocket socket = http.newWebSocketBuilder()
        .buildAsync(URI.create(pageSocket), new Listener(page))
        .get(LIMIT.toSeconds(), TimeUnit.SECONDS);
    page[0] = new DevToolsPage(browser, socket);
    return page[0];
  }

  void navigate(String url) throws Exception {
    ObjectNode params = JSON.createObjectNode().put("url", url);
    call("Page.navigate", params);
  }

  /** Evaluates an expression in the page and returns its value (null when undefined). */
  JsonNode evaluate(String expression) throws Exception {
    ObjectNode params = JSON.createObjectNode().put("expression", expression).put("returnByValue", true);
    JsonNode result = call("Runtime.evaluate", params);
    if (result.has("exceptionDetails")) {
      // Not an AssertionError: while the page reloads, Await.until retries on exceptions.
      throw new IllegalStateException("the page threw on " + expression + ": " + result.get("exceptionDetails"));
    }
    return result.path("result").get("value");
  }

  /** Evaluates {@code expression} until it gives {@code true}. */
  void awaitTrue(String what, String expression) {
    Await.until(what, LIMIT, () -> evaluate(expression), v -> v != null && v.asBoolean(), () -> "");
  }

  private JsonNode call(String method, ObjectNode params) throws Exception {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    waiting.put(id, reply);
    ObjectNode message = JSON.createObjectNode().put("id", id).put("method", method);
    message.set("params", params);
    socket.sendText(JSON.writeValueAsString(message), true).get(LIMIT.toSeconds(), TimeUnit.SECONDS);
    JsonNode answer = reply.get(LIMIT.toSeconds(), TimeUnit.SECONDS);
    if (answer.has("error")) {
      throw new IllegalStateException(method + " failed: " + answer.get("error"));
    }
    return answer.get("result");
  }

  private void received(String text) {
    try {
      JsonNode message = JSON.readTree(text);
      if (message.has("id")) {
        CompletableFuture<JsonNode> reply = waiting.remove(message.get("id").asInt());
        if (reply != null) {
          reply.complete(message);
        }
      }
      // Events (no id) are not asked for; any that come are ignored.
    } catch (IOException e) {
      waiting.values().forEach(f -> f.completeExceptionally(e));
    }
  }

  @Override
  public void close() {
    socket.abort();
    browser.close();
  }

  /** Puts a message's fragments together and hands each whole message to the page. */
  private static final class Listener implements WebSocket.Listener {
    private final DevToolsPage[] page;
    private final StringBuilder partial = new StringBuilder();

    Listener(DevToolsPage[] page) {
      this.page = page;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String message = partial.toString();
        partial.setLength(0);
        if (page[0] != null) {
          page[0].received(message);
        }
      }
      webSocket.request(1);
      return null;
    }
  }
}

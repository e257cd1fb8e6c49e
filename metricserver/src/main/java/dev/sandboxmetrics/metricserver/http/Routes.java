package dev.sandboxmetrics.metricserver.http;

import io.netty.handler.codec.http.HttpMethod;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * The server's endpoints by path, with the methods each accepts, and whether the server is shutting down
 * (every request is then answered 503). Built once by the metric server; shared by every connection's
 * {@link Router}.
 */
public final class Routes {
  /** What answers a request. Called on the event loop: anything that may block goes to an executor. */
  @FunctionalInterface
  public interface Endpoint {
    void handle(Exchange exchange);
  }

  record Route(Set<HttpMethod> methods, Endpoint endpoint) {
    String allowHeader() {
      return methods.stream().map(HttpMethod::name).sorted().collect(Collectors.joining(", "));
    }
  }

  private final Map<String, Route> byPath = new LinkedHashMap<>();
  private final BooleanSupplier shuttingDown;
  private final AtomicInteger inFlight = new AtomicInteger();

  public Routes(BooleanSupplier shuttingDown) {
    this.shuttingDown = shuttingDown;
  }

  /** Adds an endpoint for GET requests. */
  public Routes get(String path, Endpoint endpoint) {
    return add(path, Set.of(HttpMethod.GET), endpoint);
  }

  /** Adds an endpoint for the given methods. */
  public Routes add(String path, Set<HttpMethod> methods, Endpoint endpoint) {
    if (byPath.putIfAbsent(path, new Route(Set.copyOf(methods), endpoint)) != null) {
      throw new IllegalArgumentException("two endpoints for " + path);
    }
    return this;
  }

  Route find(String path) {
    return byPath.get(path);
  }

  /**
   * Requests being answered right now, over all connections: shutdown waits for them. A request stops
   * counting when its response has gone out or when its client's connection closes, whichever is first.
   */
  public int inFlight() {
    return inFlight.get();
  }

  void requestStarted() {
    inFlight.incrementAndGet();
  }

  void requestEnded() {
    inFlight.decrementAndGet();
  }

  boolean shuttingDown() {
    return shuttingDown.getAsBoolean();
  }
}

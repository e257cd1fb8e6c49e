package dev.sandboxmetrics.metricserver.server;

import dev.sandboxmetrics.posix.Signals;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns SIGINT, SIGTERM and SIGQUIT into a graceful shutdown, as runsc's metric server does. HotSpot keeps
 * SIGQUIT for itself (it prints a thread dump and the process goes on); when the JVM refuses the handler,
 * SIGQUIT keeps that meaning and the log says so.
 *
 * <p>A SIGINT or SIGTERM inherited as ignored (a server started in the background of a script, or under
 * {@code trap '' INT}) is re-enabled first, as Go's {@code signal.Notify} does for runsc: otherwise the JVM
 * would keep ignoring it and the script's Ctrl-C or {@code kill -INT} would not stop the server.
 *
 * <p>The {@code metric-server} and {@code demo} commands call {@link #install()} before the server starts
 * and {@link #attach} once it runs, so a signal sent as soon as the PID file appears is never lost: one
 * that came before {@link #attach} stops the server right after it started.
 */
public final class ShutdownSignals {
  private static final Logger log = LoggerFactory.getLogger(ShutdownSignals.class);

  private MetricServer server;
  private String pending;

  private ShutdownSignals() {}

  /** Installs the handlers; signals wait for {@link #attach}. */
  public static ShutdownSignals install() {
    ShutdownSignals signals = new ShutdownSignals();
    reenable(Signals.SIGINT, "INT");
    reenable(Signals.SIGTERM, "TERM");
    for (String name : new String[] {"INT", "TERM", "QUIT"}) {
      try {
        Signals.handle(name, signalName -> signals.received(signalName));
      } catch (IllegalArgumentException e) {
        log.debug("Cannot handle SIG{} ({}); the JVM's own handling stays (for SIGQUIT: a thread dump).", name, e.getMessage());
      }
    }
    return signals;
  }

  /** Installs the handlers for a server that runs already. */
  public static void install(MetricServer server) {
    install().attach(server);
  }

  /** From now on a signal shuts {@code server} down; one received before does so now. */
  public void attach(MetricServer server) {
    String early;
    synchronized (this) {
      this.server = server;
      early = pending;
    }
    if (early != null) {
      shutDown(server, early);
    }
  }

  private void received(String name) {
    MetricServer target;
    synchronized (this) {
      target = server;
      if (target == null) {
        pending = name;
        log.info("Received SIG{} while starting; the server stops once started.", name);
        return;
      }
    }
    shutDown(target, name);
  }

  /** A second signal during shutdown is logged and otherwise ignored. */
  private static void shutDown(MetricServer server, String name) {
    if (server.isShuttingDown()) {
      log.info("Received SIG{} while already shutting down.", name);
      return;
    }
    log.info("Received SIG{}, shutting down server.", name);
    server.shutdownAsync(MetricServer.Termination.REQUESTED);
  }

  private static void reenable(int number, String name) {
    try {
      if (Signals.stopIgnoring(number)) {
        log.debug("SIG{} was inherited as ignored; handling it, as runsc does.", name);
      }
    } catch (RuntimeException | LinkageError e) {
      log.warn("Cannot tell whether SIG{} is ignored ({}); it stops the server only if it was not.", name, e.toString());
    }
  }
}

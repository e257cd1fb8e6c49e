package dev.sandboxmetrics.metricserver.server;

import dev.sandboxmetrics.posix.Signals;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns SIGINT, SIGTERM and SIGQUIT into a graceful shutdown, as runsc's metric server does. HotSpot keeps
 * SIGQUIT for itself (it prints a thread dump and the process goes on); when the JVM refuses the handler,
 * SIGQUIT keeps that meaning and the log says so.
 *
 * <p>Installed by the {@code metric-server} command after the server started.
 */
public final class ShutdownSignals {
  private static final Logger log = LoggerFactory.getLogger(ShutdownSignals.class);

  private ShutdownSignals() {}

  /** Installs the handlers; a second signal during shutdown is logged and otherwise ignored. */
  public static void install(MetricServer server) {
    for (String name : new String[] {"INT", "TERM", "QUIT"}) {
      try {
        Signals.handle(
            name,
            signal -> {
              if (server.isShuttingDown()) {
                log.info("Received SIG{} while already shutting down.", signal);
                return;
              }
              log.info("Received SIG{}, shutting down server.", signal);
              server.shutdownAsync(MetricServer.Termination.REQUESTED);
            });
      } catch (IllegalArgumentException e) {
        log.debug("Cannot handle SIG{} ({}); the JVM's own handling stays (for SIGQUIT: a thread dump).", name, e.getMessage());
      }
    }
  }
}

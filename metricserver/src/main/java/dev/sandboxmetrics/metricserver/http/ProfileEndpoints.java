package dev.sandboxmetrics.metricserver.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.management.JMException;
import javax.management.ObjectName;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The profiling endpoints, served only with {@code --allow-profiling}. runsc serves Go's pprof; a JVM's
 * equivalents are a Java Flight Recorder recording ({@code profile-cpu?seconds=N}, open it with JDK Mission
 * Control or {@code jfr print}) and a class histogram of the live heap ({@code profile-heap}, text).
 *
 * <p>Recording waits on a scheduler, never on the event loop or a worker thread; the blocking parts (JFR
 * start/dump, the histogram) run on the worker executor.
 */
public final class ProfileEndpoints {
  private static final Logger log = LoggerFactory.getLogger(ProfileEndpoints.class);

  private ProfileEndpoints() {}

  /**
   * {@code /runsc-metrics/profile-cpu?seconds=N}: records for N seconds (as runsc: N must be below the
   * request timeout, otherwise the recording lasts until just before the timeout).
   */
  public static Routes.Endpoint cpu(Executor work, ScheduledExecutorService scheduler, Duration requestTimeout) {
    return exchange -> {
      Duration length = recordingLength(exchange.queryParameter("seconds"), requestTimeout);
      submit(work, exchange, () -> {
        Recording recording;
        try {
          recording = new Recording(Configuration.getConfiguration("profile"));
        } catch (IOException | ParseException e) {
          exchange.respondError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot configure JFR: " + e.getMessage());
          return;
        }
        recording.setName("sandbox-metrics profile-cpu");
        recording.start();
        log.info("Profiling CPU for {} s...", length.toSeconds());
        scheduler.schedule(
            () -> submit(work, exchange, () -> finishRecording(recording, exchange)),
            length.toMillis(),
            TimeUnit.MILLISECONDS);
      });
    };
  }

  /** {@code /runsc-metrics/profile-heap}: the live heap's class histogram (like {@code jcmd GC.class_histogram}). */
  public static Routes.Endpoint heap(Executor work) {
    return exchange ->
        submit(work, exchange, () -> {
          try {
            Object histogram =
                ManagementFactory.getPlatformMBeanServer()
                    .invoke(
                        new ObjectName("com.sun.management:type=DiagnosticCommand"),
                        "gcClassHistogram",
                        new Object[] {new String[0]},
                        new String[] {String[].class.getName()});
            exchange.respond(HttpResponseStatus.OK, Exchange.TEXT, String.valueOf(histogram));
          } catch (JMException | RuntimeException e) {
            exchange.respondError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot take a heap histogram: " + e);
          }
        });
  }

  static Duration recordingLength(String secondsParameter, Duration requestTimeout) {
    // Leave a second to dump the recording and send it before the request times out.
    Duration longest = requestTimeout.minusSeconds(1);
    try {
      long seconds = Long.parseLong(secondsParameter);
      if (seconds < requestTimeout.toSeconds()) {
        Duration asked = Duration.ofSeconds(Math.max(0, seconds));
        return asked.compareTo(longest) < 0 ? asked : longest;
      }
    } catch (NumberFormatException e) {
      // Not a number: record as long as the request may last, as runsc does.
    }
    return longest;
  }

  private static void finishRecording(Recording recording, Exchange exchange) {
    Path file = null;
    try {
      recording.stop();
      file = Files.createTempFile("sandbox-metrics-profile-", ".jfr");
      recording.dump(file);
      byte[] content = Files.readAllBytes(file);
      exchange.respond(
          HttpResponseStatus.OK,
          "application/octet-stream",
          content,
          Map.of("Content-Disposition", "attachment; filename=\"profile-cpu.jfr\""));
      log.info("Profiling CPU done: {} bytes of JFR recording.", content.length);
    } catch (IOException | RuntimeException e) {
      exchange.respondError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot write the JFR recording: " + e);
    } finally {
      recording.close();
      if (file != null) {
        try {
          Files.deleteIfExists(file);
        } catch (IOException e) {
          log.debug("Cannot remove {}: {}", file, e.toString());
        }
      }
    }
  }

  private static void submit(Executor work, Exchange exchange, Runnable task) {
    try {
      work.execute(task);
    } catch (RejectedExecutionException e) {
      exchange.respondError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server is busy or shutting down");
    }
  }
}

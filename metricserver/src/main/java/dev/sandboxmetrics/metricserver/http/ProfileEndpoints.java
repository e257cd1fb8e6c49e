package dev.sandboxmetrics.metricserver.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
   * JFR events left out of every recording: they would hand whoever may profile the server the environment
   * (secrets often live there), the JVM's arguments and system properties, and the command lines of every
   * process on the host. Names a JDK does not know are ignored.
   */
  static final List<String> PRIVATE_EVENTS =
      List.of(
          "jdk.InitialEnvironmentVariable",
          "jdk.InitialSystemProperty",
          "jdk.InitialSecurityProperty",
          "jdk.JVMInformation",
          "jdk.SystemProcess",
          "jdk.ProcessStart",
          "jdk.JavaAgent",
          "jdk.NativeAgent");

  /**
   * {@code /runsc-metrics/profile-cpu?seconds=N}: records for N seconds (as runsc: N must be below the
   * request timeout, otherwise the recording lasts until just before the timeout). One recording at a time
   * (others get 429); a recording whose client goes away is stopped and thrown away.
   */
  public static Routes.Endpoint cpu(Executor work, ScheduledExecutorService scheduler, Duration requestTimeout) {
    AtomicBoolean recordingNow = new AtomicBoolean();
    return exchange -> {
      Duration length = recordingLength(exchange.queryParameter("seconds"), requestTimeout);
      if (!recordingNow.compareAndSet(false, true)) {
        exchange.respondError(HttpResponseStatus.TOO_MANY_REQUESTS, "a CPU profile is being recorded already; try again later");
        return;
      }
      AtomicBoolean over = new AtomicBoolean();
      Runnable end = () -> recordingNow.set(false);
      boolean submitted = submit(work, exchange, () -> {
        Recording recording;
        try {
          recording = new Recording(settings());
        } catch (IOException | ParseException e) {
          over.set(true);
          end.run();
          exchange.respondError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot configure JFR: " + e.getMessage());
          return;
        }
        recording.setName("sandbox-metrics profile-cpu");
        recording.start();
        log.info("Profiling CPU for {} s...", length.toSeconds());
        ScheduledFuture<?> finish =
            scheduler.schedule(
                () -> submit(work, exchange, () -> {
                  if (over.compareAndSet(false, true)) {
                    try {
                      finishRecording(recording, exchange);
                    } finally {
                      end.run();
                    }
                  }
                }),
                length.toMillis(),
                TimeUnit.MILLISECONDS);
        // The exchange stays unanswered then: the router ends the request itself when its connection closes.
        exchange.whenConnectionClosed(() -> {
          if (over.compareAndSet(false, true)) {
            finish.cancel(false);
            // JFR's stop and close write files: not on the event loop.
            work.execute(() -> {
              try {
                recording.close();
                log.info("Profiling CPU stopped: the client went away.");
              } finally {
                end.run();
              }
            });
          }
        });
      });
      if (!submitted) {
        end.run();
      }
    };
  }

  /** JFR's "profile" settings without the events that would disclose the host's or the JVM's secrets. */
  static Map<String, String> settings() throws IOException, ParseException {
    Map<String, String> settings = new HashMap<>(Configuration.getConfiguration("profile").getSettings());
    for (String event : PRIVATE_EVENTS) {
      settings.put(event + "#enabled", "false");
    }
    return settings;
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

  private static boolean submit(Executor work, Exchange exchange, Runnable task) {
    try {
      work.execute(task);
      return true;
    } catch (RejectedExecutionException e) {
      exchange.respondError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server is busy or shutting down");
      return false;
    }
  }
}

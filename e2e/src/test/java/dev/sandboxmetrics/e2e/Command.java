package dev.sandboxmetrics.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short-lived program to completion (curl, promtool) and keeps what it printed. A run that takes
 * longer than its limit is killed and reported, so a hung client cannot hang the build.
 */
final class Command {
  private Command() {}

  /** What a finished program left behind. */
  record Result(List<String> command, int exitCode, byte[] stdout, String stderr) {
    String stdoutText() {
      return new String(stdout, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return String.join(" ", command) + " exited " + exitCode + "; stderr: " + stderr;
    }
  }

  static Result run(List<String> command, byte[] stdin, long limitSeconds) {
    Process process;
    try {
      process = new ProcessBuilder(command).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    CompletableFuture<byte[]> out = readAll(process.getInputStream());
    CompletableFuture<byte[]> err = readAll(process.getErrorStream());
    try {
      try (var in = process.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin);
        }
      } catch (IOException e) {
        // The program may exit without reading all of stdin; its exit code and stderr tell why.
      }
      if (!process.waitFor(limitSeconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
        throw new AssertionError(String.join(" ", command) + " did not finish within " + limitSeconds + " s");
      }
      return new Result(command, process.exitValue(), out.join(),
          new String(err.join(), StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + command, e);
    }
  }

  /** Drains a pipe on its own thread (not a shared pool): both pipes must drain at once or the child blocks. */
  private static CompletableFuture<byte[]> readAll(InputStream stream) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (stream) {
        result.complete(stream.readAllBytes());
      } catch (IOException e) {
        result.complete(new byte[0]);
      }
    }, "e2e-pipe-reader");
    reader.setDaemon(true);
    reader.start();
    return result;
  }
}

package dev.sandboxmetrics.metricserver.testing;

import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.server.StartupException;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The setting of a test against a real metric server, shared by the server tests (scrapes, hostile clients,
 * Unix socket access, the status page): a fresh directory per test with the runsc root ({@link #root}) and
 * a place for the server's Unix socket ({@link #socket}); simulators and servers started there; and
 * everything handed to {@link #closeAfter} closed after the test, the last opened first (servers before the
 * simulators whose sandboxes they ask), then the directory removed. A test registers it with
 * {@code @RegisterExtension final ServerFixture fixture = new ServerFixture();}.
 */
public final class ServerFixture implements BeforeEachCallback, AfterEachCallback {
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private Path dir;

  @Override
  public void beforeEach(ExtensionContext context) throws IOException {
    // In the temporary directory (/tmp), so socket paths stay well under the 108 bytes of sun_path.
    dir = Files.createTempDirectory("metricserver-test-");
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    try {
      closeAll();
    } finally {
      deleteRecursively(dir);
    }
  }

  /** This test's directory. */
  public Path dir() {
    return dir;
  }

  /** The runsc root directory ({@code --root}); created by the simulator or the test when needed. */
  public Path root() {
    return dir.resolve("root");
  }

  /** A path for the server's Unix socket, outside the root. */
  public Path socket() {
    return dir.resolve("m.sock");
  }

  /** Options for a server on {@code address} that serves {@link #root}. */
  public MetricServerOptions options(String address) {
    return MetricServerOptions.of(root().toString(), address);
  }

  /** A simulator whose sandboxes are told to export to {@code address}, closed after the test. */
  public Simulator simulator(String address) throws IOException {
    return closeAfter(Simulator.start(root(), address));
  }

  /** A started server, shut down after the test. */
  public MetricServer server(MetricServerOptions options) throws StartupException {
    return closeAfter(MetricServer.start(options));
  }

  /** Closes {@code resource} after the test (before what was registered earlier); returns it. */
  public <T extends AutoCloseable> T closeAfter(T resource) {
    toClose.add(resource);
    return resource;
  }

  /** Closes everything registered so far, the last first; the first failure is thrown, later ones added. */
  public void closeAll() throws Exception {
    Exception failure = null;
    for (int i = toClose.size() - 1; i >= 0; i--) {
      try {
        toClose.get(i).close();
      } catch (Exception e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    toClose.clear();
    if (failure != null) {
      throw failure;
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (dir == null) {
      return;
    }
    List<Path> paths;
    try (Stream<Path> walk = Files.walk(dir)) {
      paths = walk.sorted(Comparator.reverseOrder()).toList();
    } catch (NoSuchFileException e) {
      return;
    }
    for (Path p : paths) {
      Files.deleteIfExists(p);
    }
  }
}

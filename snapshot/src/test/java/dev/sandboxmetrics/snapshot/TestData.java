package dev.sandboxmetrics.snapshot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The shared test data under the repository's {@code testdata/}. Surefire tells us the repository root in
 * {@code sandboxmetrics.repo.root}; run from an IDE, we walk up from the working directory instead.
 */
public final class TestData {
  private TestData() {}

  public static Path root() {
    String configured = System.getProperty("sandboxmetrics.repo.root");
    if (configured != null && Files.isDirectory(Paths.get(configured, "testdata"))) {
      return Paths.get(configured);
    }
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("testdata"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no testdata/ directory above " + Paths.get("").toAbsolutePath());
  }

  public static Path path(String relative) {
    return root().resolve("testdata").resolve(relative);
  }

  public static byte[] bytes(String relative) {
    try {
      return Files.readAllBytes(path(relative));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Files in a testdata directory whose names end with {@code suffix}, sorted by name. */
  public static List<Path> list(String directory, String suffix) {
    try (Stream<Path> files = Files.list(path(directory))) {
      return files
          .filter(p -> p.getFileName().toString().endsWith(suffix))
          .sorted()
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

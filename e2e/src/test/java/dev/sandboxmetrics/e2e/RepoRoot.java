package dev.sandboxmetrics.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's root directory: Maven passes it as a system property (see the root pom). */
final class RepoRoot {
  private RepoRoot() {}

  static Path path() {
    String property = System.getProperty("sandboxmetrics.repo.root");
    Path root = property != null ? Path.of(property) : Path.of("").toAbsolutePath().getParent();
    if (!Files.isRegularFile(root.resolve("pom.xml")) || !Files.isDirectory(root.resolve("deploy"))) {
      throw new AssertionError("cannot find the repository root (tried " + root + "); run the tests with ./run-tests");
    }
    return root;
  }
}

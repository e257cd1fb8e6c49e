package dev.sandboxmetrics.runsc.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootDirectoryTest {
  @TempDir Path dir;

  private RootDirectory root() {
    return new RootDirectory(dir);
  }

  private SandboxInfo load(String sandboxId) throws IOException {
    LoadResult<SandboxInfo> r = root().loadSandbox(sandboxId);
    assertThat(r).isInstanceOf(LoadResult.Loaded.class);
    return ((LoadResult.Loaded<SandboxInfo>) r).value();
  }

  @Test
  void listsDistinctSandboxesAndIgnoresFilesThatAreNotStateFiles() throws IOException {
    StateFileBuilder.root("s2").writeTo(dir);
    StateFileBuilder.root("s1").writeTo(dir);
    StateFileBuilder.container("c1", "s1").subContainer().writeTo(dir);
    Files.writeString(dir.resolve("runsc-s1.sock"), "");
    Files.writeString(dir.resolve("notes.state"), "{}");
    Files.writeString(dir.resolve("bad id_sandbox:s3.state"), "{}");
    Files.writeString(dir.resolve("c_sandbox:s4.state.tmp"), "{}");

    assertThat(root().listSandboxIds()).containsExactly("s1", "s2");
    assertThat(root().listStateFiles()).containsExactly(
        new StateFileName("c1", "s1"), new StateFileName("s1", "s1"), new StateFileName("s2", "s2"));
  }

  @Test
  void missingRootDirectoryIsReported() {
    assertThatThrownBy(() -> new RootDirectory(dir.resolve("gone")).listSandboxIds())
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void exactContainerIdWinsOverALongerIdWithThatPrefix() throws IOException {
    StateFileBuilder.root("abc").writeTo(dir);
    StateFileBuilder.root("abcd").writeTo(dir);
    assertThat(root().findContainer("abc")).isEqualTo(new ContainerLookup.Found(new StateFileName("abc", "abc")));
  }

  @Test
  void uniquePrefixFindsTheContainerAndItsSandbox() throws IOException {
    StateFileBuilder.root("sandbox1").writeTo(dir);
    StateFileBuilder.container("web42", "sandbox1").subContainer().writeTo(dir);
    assertThat(root().findContainer("web").orElseThrow()).isEqualTo(new StateFileName("web42", "sandbox1"));
  }

  @Test
  void ambiguousPrefixNamesEveryCandidate() throws IOException {
    StateFileBuilder.root("abc1").writeTo(dir);
    StateFileBuilder.root("abc2").writeTo(dir);
    ContainerLookup lookup = root().findContainer("abc");
    assertThat(lookup).isInstanceOf(ContainerLookup.Ambiguous.class);
    assertThatThrownBy(lookup::orElseThrow)
        .isInstanceOf(DiscoveryException.class)
        .hasMessageContaining("\"abc\" is ambiguous")
        .hasMessageContaining("abc1 (sandbox abc1)")
        .hasMessageContaining("abc2 (sandbox abc2)");
  }

  @Test
  void unknownIdIsNotFoundAndSaysWhereItLooked() throws IOException {
    StateFileBuilder.root("abc").writeTo(dir);
    ContainerLookup lookup = root().findContainer("xyz");
    assertThat(lookup).isInstanceOf(ContainerLookup.NotFound.class);
    assertThatThrownBy(lookup::orElseThrow).hasMessageContaining("\"xyz\"").hasMessageContaining(dir.toString());
  }

  @Test
  void loadingOneSandboxDoesNotPickUpASandboxWhoseIdExtendsIt() throws IOException {
    StateFileBuilder.root("ab").writeTo(dir);
    StateFileBuilder.root("abc").writeTo(dir);
    assertThat(load("ab").containers()).extracting(ContainerState::id).containsExactly("ab");
  }

  @Test
  void unknownExtraFieldsAreIgnored() throws IOException {
    StateFileBuilder.root("32beefcafe")
        .field("someFutureField", Map.of("nested", List.of(1, 2, Map.of("x", true))))
        .field("bundleDir", "/bundles/s1")
        .sandboxField("mountHints", Map.of("mounts", List.of()))
        .sandboxField("cgroup", Map.of("path", "/kubepods/x"))
        .sandboxField("startTime", "2023-01-25T15:46:51Z")
        .writeTo(dir);
    SandboxInfo sandbox = load("32beefcafe");
    assertThat(sandbox.sandboxId()).isEqualTo("32beefcafe");
    assertThat(sandbox.iteration()).isEqualTo("23izhfp6n11ed");
  }

  @Test
  void corruptStateFileIsAnErrorThatNamesTheFile() throws IOException {
    Path file = StateFileBuilder.root("s1").writeTo(dir);
    Files.writeString(file, "{\"id\": \"s1\", \"createdAt\": ");
    assertThatThrownBy(() -> root().loadSandbox("s1"))
        .isInstanceOf(StateFileException.class)
        .hasMessageStartingWith("state file " + file + ": not valid JSON");
  }

  @Test
  void emptyOrTrailingContentIsReportedAsSuch() throws IOException {
    Path file = StateFileBuilder.root("s1").writeTo(dir);
    Files.writeString(file, " \n");
    assertThatThrownBy(() -> root().loadSandbox("s1")).isInstanceOf(StateFileException.class)
        .hasMessage("state file " + file + ": is empty");
    Files.writeString(file, StateFileBuilder.root("s1").json() + "\n{}");
    assertThatThrownBy(() -> root().loadSandbox("s1")).isInstanceOf(StateFileException.class)
        .hasMessageStartingWith("state file " + file + ": not valid JSON: unexpected an object after the JSON value");
  }

  @Test
  void syntaxErrorAnywhereWinsOverAWrongTypeBeforeIt() throws IOException {
    // As when the whole document is read first: a half-written file is corrupt, whatever it says before.
    Path file = StateFileBuilder.root("s1").writeTo(dir);
    Files.writeString(file, "{\"id\": 5, \"spec\": {\"x\": \"bad \\q escape\"}}");
    assertThatThrownBy(() -> root().loadSandbox("s1")).isInstanceOf(StateFileException.class)
        .hasMessageStartingWith("state file " + file + ": not valid JSON: Unrecognized character escape");
  }

  @Test
  void laterDuplicateMemberReplacesTheEarlierOne() throws IOException {
    Path file = StateFileBuilder.root("s1").writeTo(dir);
    String json = StateFileBuilder.root("s1").json();
    Files.writeString(file, json.substring(0, json.length() - 1)
        + ", \"sandbox\": {\"id\": \"s1\", \"pid\": 7, \"podName\": \"second\"}}");
    SandboxInfo s = load("s1");
    assertThat(s.pid()).isEqualTo(7);
    assertThat(s.record().podName()).isEqualTo("second");
  }

  @Test
  void wrongTypeQuotesTheValueAsJson() throws IOException {
    Path file = StateFileBuilder.root("s1").annotation("io.kubernetes.cri.sandbox-name", "ok").writeTo(dir);
    Files.writeString(file, Files.readString(file).replace("\"ok\"", "[1]"));
    assertThatThrownBy(() -> root().loadSandbox("s1")).isInstanceOf(StateFileException.class)
        .hasMessage("state file " + file + ": spec.annotations.io.kubernetes.cri.sandbox-name: expected a string, "
            + "got an array");
    StateFileBuilder.root("s1").sandboxField("podName", "tab\there \"quoted\"").sandboxField("pid", "x\ty").writeTo(dir);
    assertThatThrownBy(() -> root().loadSandbox("s1")).isInstanceOf(StateFileException.class)
        .hasMessage("state file " + file + ": sandbox.pid: expected an integer from -2147483648 to 2147483647, "
            + "got a string \"x\\ty\"");
  }

  @Test
  void fieldOfTheWrongTypeNamesTheField() throws IOException {
    Path file = StateFileBuilder.root("s1").sandboxField("pid", "1234").writeTo(dir);
    assertThatThrownBy(() -> root().loadSandbox("s1"))
        .isInstanceOf(StateFileException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("sandbox.pid: expected an integer");
  }

  @Test
  void stateFileThatContradictsItsNameIsAnError() throws IOException {
    Path file = StateFileBuilder.root("s1").sandboxField("id", "other").writeTo(dir);
    assertThatThrownBy(() -> root().loadSandbox("s1"))
        .isInstanceOf(StateFileException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("says sandbox \"other\"");
  }

  @Test
  void stateFileLockedByAnotherProcessIsBusyNotAnError() throws Exception {
    StateFileBuilder.root("s1").writeTo(dir);
    Path lock = new StateFileName("s1", "s1").lockPath(dir);
    // -o: the lock is not inherited by sleep, so it goes away with flock itself when we destroy it.
    Process holder = new ProcessBuilder("flock", "-o", "-x", lock.toString(), "sleep", "30")
        .redirectErrorStream(true)
        .start();
    try {
      LoadResult<SandboxInfo> r = awaitBusy("s1");
      assertThat(r).isEqualTo(new LoadResult.Busy<SandboxInfo>(lock));
    } finally {
      holder.destroy();
      holder.waitFor(10, TimeUnit.SECONDS);
      holder.descendants().forEach(ProcessHandle::destroy);
    }
    // flock(1) forks its command, and the child closes its copy of the descriptor (-o) only just before it
    // runs sleep: killed early, that copy may still hold the lock for a moment.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    LoadResult<SandboxInfo> after = root().loadSandbox("s1");
    while (after instanceof LoadResult.Busy && System.nanoTime() < deadline) {
      Thread.sleep(20);
      after = root().loadSandbox("s1");
    }
    assertThat(after).isInstanceOf(LoadResult.Loaded.class);
  }

  /** Polls until the other process holds the lock (it starts asynchronously). */
  private LoadResult<SandboxInfo> awaitBusy(String sandboxId) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      LoadResult<SandboxInfo> r = root().loadSandbox(sandboxId);
      if (r instanceof LoadResult.Busy || System.nanoTime() > deadline) {
        return r;
      }
      Thread.sleep(20);
    }
  }

  @Test
  void stateFileWithoutLockFileIsReadAndNoFileIsCreated() throws IOException {
    StateFileBuilder.root("s1").withoutLockFile().writeTo(dir);
    List<String> before = StateFileBuilder.names(dir);
    assertThat(load("s1").sandboxId()).isEqualTo("s1");
    assertThat(StateFileBuilder.names(dir)).isEqualTo(before);
  }

  @Test
  void readingLeavesTheLockFileUnlocked() throws IOException {
    StateFileBuilder.root("s1").writeTo(dir);
    load("s1");
    try (var lock = dev.sandboxmetrics.posix.Flock.tryLock(new StateFileName("s1", "s1").lockPath(dir), false)) {
      assertThat(lock).isNotNull();
    }
  }

  @Test
  void sandboxWhoseFilesVanishedIsMissing() throws IOException {
    assertThat(root().loadSandbox("nothing")).isInstanceOf(LoadResult.Missing.class);
  }

  @Test
  void fileIdentityChangesWhenTheStateFileIsRewritten() throws Exception {
    Path file = StateFileBuilder.root("s1").writeTo(dir);
    StateFileName name = new StateFileName("s1", "s1");
    FileIdentity first = FileIdentity.of(name.statePath(dir));
    assertThat(FileIdentity.of(name.statePath(dir))).isEqualTo(first);
    assertThat(load("s1").stateFileIdentities()).containsEntry(name, first);
    Files.writeString(file, StateFileBuilder.root("s1").status("paused").json());
    assertThat(FileIdentity.of(name.statePath(dir))).isNotEqualTo(first);
  }

  @Test
  void listingWithIdentitiesGivesWhatAStatByPathGivesAndFollowsNoLink() throws Exception {
    Path s2 = StateFileBuilder.root("s2").writeTo(dir);
    StateFileBuilder.root("s1").writeTo(dir);
    StateFileBuilder.container("c1", "s1").subContainer().writeTo(dir);
    Files.writeString(dir.resolve("runsc-s1.sock"), "");
    Files.writeString(dir.resolve("notes.state"), "{}");
    // A state file name that is a symbolic link, to a real state file and to nothing: the link itself is
    // what is stat'ed, as by name.
    Files.createSymbolicLink(dir.resolve("l1_sandbox:s3.state"), s2);
    Files.createSymbolicLink(dir.resolve("l2_sandbox:s3.state"), dir.resolve("missing"));

    List<RootDirectory.Listed> listed = root().listStateFilesWithIdentities();

    assertThat(listed).extracting(RootDirectory.Listed::name).containsExactlyElementsOf(root().listStateFiles());
    assertThat(listed).extracting(RootDirectory.Listed::name).containsExactly(
        new StateFileName("c1", "s1"), new StateFileName("s1", "s1"), new StateFileName("s2", "s2"),
        new StateFileName("l1", "s3"), new StateFileName("l2", "s3"));
    for (RootDirectory.Listed l : listed) {
      assertThat(l.statFailure()).isNull();
      assertThat(l.identity()).as("%s", l.name()).isEqualTo(FileIdentity.of(l.name().statePath(dir)));
    }
    FileIdentity link = listed.get(3).identity();
    assertThat(link).isNotEqualTo(FileIdentity.of(new StateFileName("s2", "s2").statePath(dir)));
    assertThat(link.size()).isEqualTo(s2.toString().length()); // a link's size is its target's length
  }

  @Test
  void listingWithIdentitiesOfAMissingRootDirectoryIsReported() {
    assertThatThrownBy(() -> new RootDirectory(dir.resolve("gone")).listStateFilesWithIdentities())
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void identityReadFromAnOpenedFileEqualsTheListingsAndChangesWithTheFile() throws Exception {
    Path file = StateFileBuilder.root("s1").writeTo(dir);
    StateFileName name = new StateFileName("s1", "s1");
    FileIdentity listed = root().listStateFilesWithIdentities().get(0).identity();
    assertThat(load("s1").stateFileIdentities()).containsEntry(name, listed);
    assertThat(listed.hashCode()).isEqualTo(FileIdentity.of(name.statePath(dir)).hashCode());
    // Same size, same content, another inode: a different file.
    Path other = dir.resolve("copy");
    Files.copy(file, other);
    Files.setLastModifiedTime(other, Files.getLastModifiedTime(file));
    Files.move(other, file, StandardCopyOption.REPLACE_EXISTING);
    FileIdentity replaced = root().listStateFilesWithIdentities().get(0).identity();
    assertThat(replaced.size()).isEqualTo(listed.size());
    assertThat(replaced.modified()).isEqualTo(listed.modified());
    assertThat(replaced).isNotEqualTo(listed);
  }
}

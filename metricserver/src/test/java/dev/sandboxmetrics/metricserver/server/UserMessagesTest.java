package dev.sandboxmetrics.metricserver.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The plain reasons of start-up failures. Permission errors cannot be provoked for real when the tests run
 * as root (they usually do), so the exceptions the JDK and Netty throw are built here.
 */
class UserMessagesTest {
  @Test
  void fileReasonsArePlainWords() {
    assertThat(UserMessages.fileReason(new NoSuchFileException("/x"))).isEqualTo("it does not exist");
    assertThat(UserMessages.fileReason(new NotDirectoryException("/x"))).isEqualTo("it is not a directory");
    assertThat(UserMessages.fileReason(new AccessDeniedException("/x"))).isEqualTo("permission denied");
    assertThat(UserMessages.fileReason(new FileSystemException("/x/y", null, "Not a directory")))
        .isEqualTo("not a directory");
  }

  @Test
  void createReasonNamesTheDirectory() {
    Path pid = Path.of("/run/missing/server.pid");
    assertThat(UserMessages.createReason(new NoSuchFileException(pid.toString()), pid))
        .isEqualTo("its directory /run/missing does not exist (create it first)");
    assertThat(UserMessages.createReason(new AccessDeniedException(pid.toString()), pid))
        .startsWith("permission denied").contains("/run/missing");
  }

  @Test
  void bindReasonsOfNettyAndTheJdk() {
    // Netty's native transport words errors as "bind(..) failed with error(-ERRNO): <strerror>".
    assertThat(UserMessages.bindReason(new IOException("bind(..) failed with error(-98): Address already in use")))
        .startsWith("address in use");
    assertThat(UserMessages.bindReason(new BindException("Address already in use"))).startsWith("address in use");
    assertThat(UserMessages.bindReason(new IOException("bind(..) failed with error(-13): Permission denied")))
        .startsWith("permission denied").contains("1024");
    assertThat(UserMessages.bindReason(new IOException("bind(..) failed with error(-99): Cannot assign requested address")))
        .isEqualTo("no network interface of this machine has that address");
    assertThat(UserMessages.bindReason(new IOException("bind(..) failed with error(-22): Invalid argument")))
        .isEqualTo("invalid argument");
  }

  @Test
  void hostPortAsWritten() {
    assertThat(UserMessages.hostPort(new InetSocketAddress("0.0.0.0", 1337))).isEqualTo("0.0.0.0:1337");
    assertThat(UserMessages.hostPort(new InetSocketAddress("::1", 80))).startsWith("[").endsWith("1]:80");
  }
}

package dev.sandboxmetrics.posix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;

/** The libc functions we call, bound once with JNA direct mapping (cheaper per call than an interface proxy). */
final class LibC {
  static final int O_RDONLY = 0;
  static final int O_CREAT = 0100;
  static final int O_CLOEXEC = 02000000;
  static final int O_PATH = 010000000;

  static final int LOCK_SH = 1;
  static final int LOCK_EX = 2;
  static final int LOCK_NB = 4;
  static final int LOCK_UN = 8;

  static final int EINTR = 4;
  static final int ENOENT = 2;
  static final int ESRCH = 3;
  static final int EPERM = 1;
  static final int EWOULDBLOCK = 11;

  static {
    Native.register("c");
  }

  private LibC() {}

  static native int open(String path, int flags, int mode) throws LastErrorException;

  static native int close(int fd) throws LastErrorException;

  static native int flock(int fd, int operation) throws LastErrorException;

  static native int kill(int pid, int signal) throws LastErrorException;

  static native int getpid();

  static String describe(LastErrorException e) {
    String text;
    try {
      text = e.getMessage();
    } catch (RuntimeException ignored) {
      text = "errno " + e.getErrorCode();
    }
    return text;
  }
}

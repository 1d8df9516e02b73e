package dev.unroll.runtime.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointIoTest {

  @TempDir
  Path dir;

  /**
   * Found by the llm.c and llama2.c fuzz targets' allocation bound: every read took a 1 MiB buffer, so loading a
   * 5 KB checkpoint allocated 3 MiB. A read's buffer is now no larger than the read.
   */
  @Test
  void smallReadsTakeSmallBuffers() throws IOException {
    Path path = dir.resolve("floats.bin");
    Files.write(path, TestFiles.f32(new float[] {1, 2, 3, 4}));
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      float[] dst = new float[3];
      CheckpointIo.readFloats(path, channel, 4, dst, 0, 3); // once to load and link what it calls
      long before = threads.getCurrentThreadAllocatedBytes();
      CheckpointIo.readFloats(path, channel, 4, dst, 0, 3);
      long allocated = threads.getCurrentThreadAllocatedBytes() - before;
      assertArrayEquals(new float[] {2, 3, 4}, dst);
      assertTrue(allocated < 16 << 10, "reading 3 floats allocated " + allocated + " bytes");
    }
  }
}

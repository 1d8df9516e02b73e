package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.attribute.CodeAttribute;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** HotSpot does not JIT-compile methods over 8,000 bytes of bytecode; no generated method may be that large. */
class MethodSizeTest {
  static final int HUGE_METHOD_LIMIT = 8000;

  @ParameterizedTest
  @ValueSource(strings = {"UnrolledGpt2Small", "UnrolledAwkward", "UnrolledEven", "UnrolledMicro",
      "UnrolledStories15M", "UnrolledLlamaAwkward", "UnrolledLlamaMicro"})
  void everyGeneratedMethodIsJitCompilable(String name) throws IOException {
    String resource = "models/" + name + ".class";
    byte[] bytes;
    try (InputStream in = MethodSizeTest.class.getResourceAsStream(resource)) {
      assertTrue(in != null, "generated class " + resource + " is missing");
      bytes = in.readAllBytes();
    }
    ClassModel model = ClassFile.of().parse(bytes);
    int methods = 0;
    int largest = 0;
    for (MethodModel m : model.methods()) {
      var code = m.findAttribute(Attributes.code());
      if (code.isPresent()) {
        CodeAttribute c = code.get();
        int length = c.codeLength();
        largest = Math.max(largest, length);
        methods++;
        assertTrue(length < HUGE_METHOD_LIMIT,
            name + "." + m.methodName().stringValue() + " has " + length + " bytes of bytecode");
      }
    }
    assertTrue(methods > 10 && largest > 100, "read " + methods + " methods, largest " + largest);
  }
}

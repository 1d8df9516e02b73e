package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.attribute.CodeAttribute;
import java.lang.classfile.attribute.InnerClassInfo;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HotSpot does not JIT-compile methods over 8,000 bytes of bytecode; no generated method may be that large, in the
 * generated class or in the classes nested in it (each backend's steps).
 */
class MethodSizeTest {
  static final int HUGE_METHOD_LIMIT = 8000;

  @ParameterizedTest
  @ValueSource(strings = {"UnrolledGpt2Small", "UnrolledAwkward", "UnrolledEven", "UnrolledMicro",
      "UnrolledStories15M", "UnrolledLlamaAwkward", "UnrolledLlamaMicro", "UnrolledMicroJava",
      "UnrolledMicroOpenCl", "UnrolledBertBase", "UnrolledBertAwkward", "UnrolledBertMicro", "UnrolledVitTiny",
      "UnrolledVitAwkward", "UnrolledVitMicro"})
  void everyGeneratedMethodIsJitCompilable(String name) throws IOException {
    int methods = 0;
    int largest = 0;
    List<String> classes = new ArrayList<>(List.of(name));
    for (int i = 0; i < classes.size(); i++) {
      String simpleName = classes.get(i);
      ClassModel model = ClassFile.of().parse(read("models/" + simpleName + ".class"));
      for (MethodModel m : model.methods()) {
        var code = m.findAttribute(Attributes.code());
        if (code.isPresent()) {
          CodeAttribute c = code.get();
          int length = c.codeLength();
          largest = Math.max(largest, length);
          methods++;
          assertTrue(length < HUGE_METHOD_LIMIT,
              simpleName + "." + m.methodName().stringValue() + " has " + length + " bytes of bytecode");
        }
      }
      // the classes nested in this one, each read in turn
      String binaryName = model.thisClass().asInternalName();
      for (var attribute : model.findAttribute(Attributes.innerClasses()).stream().toList()) {
        for (InnerClassInfo inner : attribute.classes()) {
          String innerName = inner.innerClass().asInternalName();
          if (inner.outerClass().isPresent() && inner.outerClass().get().asInternalName().equals(binaryName)) {
            classes.add(innerName.substring(innerName.lastIndexOf('/') + 1));
          }
        }
      }
    }
    assertTrue(methods > 10 && largest > 100, "read " + methods + " methods, largest " + largest);
    assertTrue(classes.size() > 1, name + ": no nested classes read, so no backend's steps were: " + classes);
  }

  private static byte[] read(String resource) throws IOException {
    try (InputStream in = MethodSizeTest.class.getResourceAsStream(resource)) {
      assertTrue(in != null, "generated class " + resource + " is missing");
      return in.readAllBytes();
    }
  }
}

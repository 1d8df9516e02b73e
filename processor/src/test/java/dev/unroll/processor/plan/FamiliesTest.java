package dev.unroll.processor.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.Family;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.family.ModelFamily;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The registry against the runtime: every entry names a runtime family and shape that exist and fit together. */
class FamiliesTest {

  @Test
  void everyEntryNamesARuntimeFamilyOfItsShape() throws ReflectiveOperationException {
    List<Family> registered = new ArrayList<>();
    for (Families.Entry entry : Families.all()) {
      registered.add(entry.family());
      Class<?> holder = Class.forName(entry.runtimeFamily());
      Field field = holder.getField("FAMILY");
      assertTrue(Modifier.isStatic(field.getModifiers()) && Modifier.isFinal(field.getModifiers()),
          entry.runtimeFamily() + ".FAMILY is static final");
      assertEquals(ModelFamily.class, field.getType(), entry.runtimeFamily() + ".FAMILY is a ModelFamily");
      ModelFamily<?, ?> family = (ModelFamily<?, ?>) field.get(null);
      assertEquals(entry.displayName(), family.name(), "the runtime and the processor call the family alike");
      Class<?> shape = Class.forName(entry.runtimeShape());
      assertTrue(ModelShape.class.isAssignableFrom(shape), entry.runtimeShape() + " is a ModelShape");
      var type = (ParameterizedType) field.getGenericType();
      assertEquals(shape, type.getActualTypeArguments()[0], entry.runtimeFamily() + " takes " + shape.getName());
    }
    assertEquals(List.of(Family.values()), registered, "every family the annotation offers has an entry");
  }
}

// Stand-in for TFLM's tensorflow/lite/schema/schema_generated.h: the model view a program uses.
#ifndef STANDIN_TENSORFLOW_LITE_SCHEMA_SCHEMA_GENERATED_H_
#define STANDIN_TENSORFLOW_LITE_SCHEMA_SCHEMA_GENERATED_H_

#include <stdint.h>

namespace tflite {

struct Model {
  uint32_t version() const;
};

const Model* GetModel(const void* buffer);

}  // namespace tflite

#endif  // STANDIN_TENSORFLOW_LITE_SCHEMA_SCHEMA_GENERATED_H_

// Stand-in for TFLM's tensorflow/lite/micro/micro_op_resolver.h.
#ifndef STANDIN_TENSORFLOW_LITE_MICRO_MICRO_OP_RESOLVER_H_
#define STANDIN_TENSORFLOW_LITE_MICRO_MICRO_OP_RESOLVER_H_

namespace tflite {

struct TFLMRegistration;

class MicroOpResolver {
 public:
  virtual ~MicroOpResolver() {}
};

}  // namespace tflite

#endif  // STANDIN_TENSORFLOW_LITE_MICRO_MICRO_OP_RESOLVER_H_

// Stand-in for the header the Arduino TFLM library asks a sketch to include first (TensorFlowLite.h).
#ifndef STANDIN_TENSORFLOWLITE_H_
#define STANDIN_TENSORFLOWLITE_H_
#include <Arduino.h>
#endif

// Stand-in for the header the Arduino TFLM library asks a sketch to include first (Chirale_TensorFlowLite.h).
#ifndef STANDIN_CHIRALE_TENSORFLOWLITE_H_
#define STANDIN_CHIRALE_TENSORFLOWLITE_H_
#include <Arduino.h>
#endif

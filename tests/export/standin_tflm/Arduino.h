// Stand-in for the Arduino core's Arduino.h: what a generated sketch calls, for syntax checks.
#ifndef STANDIN_ARDUINO_H_
#define STANDIN_ARDUINO_H_

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEC 10

class StandinSerial {
 public:
  void begin(unsigned long baud);
  int available();
  int read();
  size_t print(const char* text);
  size_t print(char c);
  size_t print(int value, int base = DEC);
  size_t print(unsigned int value, int base = DEC);
  size_t print(long value, int base = DEC);
  size_t print(unsigned long value, int base = DEC);
  size_t print(double value, int digits = 2);
  size_t println(const char* text);
  size_t println();
  explicit operator bool() const;
};

extern StandinSerial Serial;

unsigned long millis();
void delay(unsigned long ms);

#endif  // STANDIN_ARDUINO_H_

/* platform.h - what the workbench firmware needs from a board (firmware/<board>/platform.c).
   The firmware itself (firmware_main.cc) is the same on every board. */
#ifndef WORKBENCH_FIRMWARE_PLATFORM_H_
#define WORKBENCH_FIRMWARE_PLATFORM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Start the clock, the serial port (a UART, USB CDC) and anything else the board needs. */
void platform_init(void);

/* Keep the serial link alive (USB needs polling on some boards); called often. */
void platform_poll(void);

/* Write all `length` bytes to the serial port (blocking while the port is full). */
void platform_write(const uint8_t* bytes, size_t length);

/* Read up to `length` bytes that have arrived, without waiting; returns how many were read. */
size_t platform_read(uint8_t* bytes, size_t length);

/* A free-running counter of the board's clock (see platform_clock_name), 64 bits wide. */
uint64_t platform_ticks(void);

/* What platform_ticks() counts ("cycles", "us") and how many of them make a second. */
const char* platform_clock_name(void);
uint32_t platform_clock_hz(void);

/* Where the model slot is mapped in memory, and how many bytes it may span. */
const unsigned char* platform_slot_address(void);
uint32_t platform_slot_bytes(void);

/* The board's name in the banner (the board file's id). */
const char* platform_board(void);

#ifdef __cplusplus
}
#endif

#endif /* WORKBENCH_FIRMWARE_PLATFORM_H_ */

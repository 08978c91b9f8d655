/* The workbench firmware's board layer for an Arm MPS2 board with the AN386 image (Cortex-M4 with
   FPU at 25 MHz), as QEMU emulates it (qemu-system-arm -M mps2-an386): UART0 of the CMSDK APB
   UART kind for the serial port, the DWT cycle counter for time (SysTick where the core has no
   DWT), the model slot in ZBT SSRAM1 at SLOT_ADDRESS (QEMU loads it there with
   -device loader,file=slot.bin,addr=...). */
#include <stdint.h>

#include "platform.h"

#define SYSTEM_CLOCK_HZ 25000000u
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t*)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t*)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t*)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t*)(UART0_BASE + 0x10u))
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u

#define DEMCR (*(volatile uint32_t*)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t*)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t*)0xE0001004u)
#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)

#ifndef SLOT_ADDRESS
#define SLOT_ADDRESS 0x00200000u
#endif
#ifndef SLOT_BYTES
#define SLOT_BYTES 0x00200000u
#endif

static int use_dwt = 0;
static volatile uint32_t systick_wraps = 0;
static uint32_t dwt_high = 0;
static uint32_t dwt_last = 0;

void SysTick_Handler(void) { ++systick_wraps; }

void platform_init(void) {
  UART_BAUDDIV = SYSTEM_CLOCK_HZ / 115200u;
  UART_CTRL = 3u; /* transmit and receive, no interrupts */
  DEMCR |= 1u << 24; /* TRCENA */
  DWT_CYCCNT = 0;
  DWT_CTRL |= 1u;
  for (volatile int i = 0; i < 100; ++i) {
  }
  use_dwt = DWT_CYCCNT != 0u;
  if (!use_dwt) { /* SysTick at the core clock, wrapping every 2^24 cycles */
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* core clock, interrupt, enable */
  }
}

void platform_poll(void) {}

void platform_write(const uint8_t* bytes, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = bytes[i];
  }
}

size_t platform_read(uint8_t* bytes, size_t length) {
  size_t count = 0;
  while (count < length && (UART_STATE & UART_STATE_RX_FULL)) {
    bytes[count++] = (uint8_t)UART_DATA;
  }
  return count;
}

uint64_t platform_ticks(void) {
  if (use_dwt) {
    const uint32_t now = DWT_CYCCNT;
    if (now < dwt_last) ++dwt_high;
    dwt_last = now;
    return ((uint64_t)dwt_high << 32) | now;
  }
  uint32_t wraps, current;
  do {
    wraps = systick_wraps;
    current = SYST_CVR;
  } while (wraps != systick_wraps);
  return ((uint64_t)wraps << 24) + (0x00FFFFFFu - current);
}

/* Both count the core clock; QEMU implements SysTick but not the DWT counter. */
const char* platform_clock_name(void) { return use_dwt ? "cycles" : "systick"; }
uint32_t platform_clock_hz(void) { return SYSTEM_CLOCK_HZ; }
const unsigned char* platform_slot_address(void) { return (const unsigned char*)SLOT_ADDRESS; }
uint32_t platform_slot_bytes(void) { return SLOT_BYTES; }
const char* platform_board(void) { return "mps2_an386"; }

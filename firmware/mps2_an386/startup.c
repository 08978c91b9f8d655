/* Reset and the vector table for the MPS2 AN386 image: copy .data, clear .bss, turn the FPU on,
   run the C++ constructors, then main(). A fault prints one line on UART0 and stops. */
#include <stdint.h>

#include "platform.h"

extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__, __stack_top__;
extern void __libc_init_array(void);
extern int main(void);
void SysTick_Handler(void);

void Reset_Handler(void) {
  uint32_t* from = &__data_load__;
  for (uint32_t* to = &__data_start__; to < &__data_end__;) *to++ = *from++;
  for (uint32_t* to = &__bss_start__; to < &__bss_end__;) *to++ = 0;
  *(volatile uint32_t*)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10 and CP11 full access (the FPU) */
  __asm volatile("dsb\n isb");
  __libc_init_array();
  main();
  for (;;) {
  }
}

static void Fault_Handler(void) {
  static const char text[] = "\nworkbench-firmware fault: the firmware stopped (hard fault)\n";
  platform_write((const uint8_t*)text, sizeof(text) - 1);
  for (;;) {
  }
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top__), Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, SysTick_Handler,
};

/* What newlib's few system calls need on a board with no operating system. */
void* _sbrk(int increment) {
  extern uint8_t __heap_start__, __heap_end__;
  static uint8_t* heap = &__heap_start__;
  if (heap + increment > &__heap_end__) return (void*)-1;
  uint8_t* previous = heap;
  heap += increment;
  return previous;
}

/* __libc_init_array calls these (crti.o is not linked: this file is the start-up code). */
void _init(void) {}
void _fini(void) {}

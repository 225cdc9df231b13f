int consumer_lib_run(void);
int main(void) { return consumer_lib_run(); }
